"""GIL figures on CPython 3.15 from the interpreter's own thread-state flags, and py-spy on 3.14."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psutil
import pytest

from execscope.sampling import gilflags, pyspy
from execscope.sampling.gilflags import HELPER

from helpers import cli
from pythons import python_or_skip


def run_json(tmp_path, python: str, *args: str) -> dict:
    out_path = tmp_path / "run.json"
    out = cli("run", "cpu", "--python", python, "--headless", "--json", str(out_path), *args, timeout=180)
    assert out.returncode == 0, out.stderr
    return json.loads(out_path.read_text())


def pool(doc: dict) -> list:
    return [t for t in doc["gil"]["threads"] if t["name"].startswith("worker_")]


def test_four_threads_on_315_wait_for_the_gil_by_the_interpreters_own_flags(tmp_path) -> None:
    doc = run_json(tmp_path, python_or_skip("3.15"), "--executor", "thread", "--workers", "4", "--duration", "3")
    g = doc["gil"]
    assert g["source"] == "flags", g["reason"]
    assert "thread-state flags" in g["reason"]
    workers = pool(doc)
    assert len(workers) == 4, g["threads"]
    for t in workers:
        assert abs(t["held"] + t["wait"] + t["released"] + t["idle"] - 1) < 0.01
        assert t["wait"] > t["held"] > 0.05, workers  # theory: 0.75 against 0.25
    assert not [t for t in g["threads"] if t["name"].startswith("execscope-")]


def test_the_helper_reads_a_process_without_stopping_it_and_stops_on_sigint() -> None:
    python = python_or_skip("3.15")
    target = subprocess.Popen([python, "-c", "import time\nwhile True: sum(range(1000))"])
    try:
        helper = subprocess.Popen([python, "-I", HELPER, str(target.pid), "100", "0.3"], stdout=subprocess.PIPE, text=True)
        first = json.loads(helper.stdout.readline())
        helper.send_signal(2)
        rest = helper.stdout.read()
        assert helper.wait(10) == 0
        helper.stdout.close()
        assert first["samples"] > 0
        states = {state for _, tid, state, _, _ in first["threads"] if tid == target.pid}
        assert states <= {"held", "wait", "other"} and "held" in states, first
        assert psutil.Process(target.pid).status() != psutil.STATUS_STOPPED
        assert rest.strip(), "the last counts are written on SIGINT"
    finally:
        target.kill()
        target.wait()


def test_the_helper_says_why_it_cannot_read_a_process() -> None:
    python = python_or_skip("3.15")
    other = subprocess.Popen(["sleep", "30"])
    try:
        out = subprocess.run([python, "-I", HELPER, str(other.pid)], capture_output=True, text=True, timeout=60)
    finally:
        other.kill()
        other.wait()
    assert out.returncode == 1
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    assert doc["error"] == "error" and doc["message"]
    gone = subprocess.run([python, "-I", HELPER, str(other.pid)], capture_output=True, text=True, timeout=60)
    assert gone.returncode == 1 and json.loads(gone.stdout)["error"] == "gone"


def test_a_killed_helper_is_started_again(tmp_path) -> None:
    python = python_or_skip("3.15")
    out_path = tmp_path / "run.json"
    run = subprocess.Popen([sys.executable, "-m", "execscope",
                            "run", "cpu", "--python", python, "--executor", "thread", "--workers", "2",
                            "--duration", "4", "--headless", "--json", str(out_path)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    killed = 0
    deadline = time.monotonic() + 30
    while not killed and time.monotonic() < deadline and run.poll() is None:
        for proc in psutil.Process(run.pid).children(recursive=True):
            try:
                if HELPER in " ".join(proc.cmdline()):
                    proc.kill()
                    killed += 1
            except psutil.Error:
                pass
        time.sleep(0.2)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert killed
    g = json.loads(out_path.read_text())["gil"]
    assert g["source"] == "flags", g["reason"]
    assert len(pool({"gil": g})) == 2


def test_has_flags_from_315_on() -> None:
    assert gilflags.has_flags("3.15.2") and gilflags.has_flags([3, 16, 0])
    assert not gilflags.has_flags("3.14.10") and not gilflags.has_flags([3, 9])


# -- py-spy where the interpreter's frames are hidden (Debian's static 3.14) ----------

HIDDEN_WAIT = ["worker (cpu.py:5)", "0x7f98 (libc.so.6)", "0x7f3d (libc.so.6)", "pthread_cond_timedwait (libc.so.6)",
               "0x7f8c (libc.so.6)", "0x7fd4 (libc.so.6)"]
HIDDEN_LOCK = ["a (lockwait.py:4)", "0x7f98 (libc.so.6)", "0x7fdb (libc.so.6)", "0x7f22 (libc.so.6)",
               "0x7f8c (libc.so.6)"]
HIDDEN_HOLDER = ["spin (spin.py:5)", "0x7f98 (libc.so.6)", "0x7fdb (libc.so.6)"]
SHARED = ["worker (cpu.py:5)", "take_gil (libpython3.13.so.1.0)", "0x7f8c (libc.so.6)", "0x7fd4 (libc.so.6)"]


def test_hidden_interpreter_frames_count_only_the_gils_timed_wait() -> None:
    assert pyspy.interpreter_hidden([HIDDEN_WAIT, HIDDEN_LOCK, HIDDEN_HOLDER])
    assert not pyspy.interpreter_hidden([HIDDEN_WAIT, SHARED])
    assert pyspy.classify(HIDDEN_WAIT, hidden=True) == pyspy.WAIT
    assert pyspy.classify(HIDDEN_LOCK, hidden=True) != pyspy.WAIT  # Thread.join, Lock.acquire
    assert pyspy.classify(HIDDEN_HOLDER, hidden=True) != pyspy.WAIT
    assert pyspy.classify(HIDDEN_LOCK) == pyspy.WAIT  # what the shared-build rule would say


def test_four_threads_on_314_wait_by_py_spy(tmp_path) -> None:
    if pyspy.find_pyspy()[0] is None:
        pytest.skip("py-spy is not installed")
    doc = run_json(tmp_path, python_or_skip("3.14"), "--executor", "thread", "--workers", "4", "--duration", "3")
    g = doc["gil"]
    assert g["source"] == "py-spy", g["reason"]
    workers = pool(doc)
    assert len(workers) == 4
    for t in workers:
        assert t["wait"] > t["held"], workers
    # Of the time they do not hold it the workers want it (the 3.15 flags say
    # 0.67 of 0.76 not held; py-spy on 3.14 measured 0.86 of it): a classifier
    # that lost half the waits gives ~0.45 here, though each wait may still beat held.
    assert sum(t["wait"] for t in workers) / sum(1 - t["held"] for t in workers) >= 0.6, workers
    main = [t for t in g["threads"] if t["name"] == "MainThread"]
    assert main and main[0]["held"] < 0.2
