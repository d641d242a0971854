"""GIL figures from real runs: the py-spy sampler against what theory and the probe say.

Bands, not exact values: the machine may be shared and small.  Each run lasts
a couple of seconds; the heavier ones are marked slow.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Tuple

import pytest

from execscope.model import RunConfig
from execscope.report import run_json
from execscope.sampling import gil, pyspy
from execscope.session import Session

from helpers import ROOT

PYSPY, _WHY = pyspy.find_pyspy()
needs_pyspy = pytest.mark.skipif(PYSPY is None, reason="py-spy is not installed")


def sampled_run(workload: str, duration: float = 2.5, **kwargs: Any) -> Tuple[Session, Dict[str, Any]]:
    config = RunConfig(workload=workload, duration=duration, gil_sampling=True, **kwargs)
    session = Session(config, gil_sampler_factory=gil.make_sampler)
    session.run(timeout=duration + 60)
    return session, run_json(session.record())


def workers(doc: Dict[str, Any], prefix: str = "worker_") -> List[Dict[str, Any]]:
    return [t for t in doc["gil"]["threads"] if t["name"].startswith(prefix)]


@needs_pyspy
def test_cpu_bound_threads_take_turns_holding_the_gil() -> None:
    session, doc = sampled_run("cpu", executor="thread", workers=4, duration=3.0)
    assert doc["status"] == "completed"
    g = doc["gil"]
    assert g["source"] == "py-spy", g["reason"]
    pool = workers(doc)
    assert len(pool) == 4
    runner = [t for t in g["threads"] if t["pid"] == session.proc.pid]
    # Someone holds it most of the time: 0.91-0.92 at load 2-3 on 2 cores, 0.78
    # in a full-suite run at load 4-8, where the submitting thread fell behind
    # and workers sat up to 8% idle with the GIL free.  The comparison with the
    # probe below is the tighter check...
    assert sum(t["held"] for t in runner) >= 0.7, runner
    # ...and each thread waits for it longer than it holds it (theory: 0.75
    # against 0.25).  No fixed floor on the wait: a worker also sits in the
    # work queue's get (released) whenever the submitting thread, itself
    # waiting for the GIL, falls behind; on a loaded machine that took the
    # pool's mean wait down to 0.39 while every thread still waited longer
    # than it held.  py-spy alone would call all of that wait idle.
    for t in pool:
        assert t["wait"] > t["held"], pool
        assert t["samples"] >= 10
        assert abs(t["held"] + t["wait"] + t["released"] + t["idle"] - 1.0) < 0.01
    # Of the time a worker does not hold the GIL, nearly all is spent wanting
    # it (it computes pure Python; the queue's get is short): measured 0.84 to
    # 0.9 of the pool's not-held samples on a loaded 2-core machine.  A
    # classifier that called half the waits released or idle gives under 0.5.
    not_held = sum(t["wait"] + t["released"] + t["idle"] for t in pool)
    assert sum(t["wait"] for t in pool) / not_held >= 0.65, pool
    # The probe is the ground truth for how busy the GIL is: it found it held
    # whenever it asked, and the sampler must see it held about as often.
    assert g["probe_contention"] >= 0.5 and g["probe_latency_ms"] >= 1.0
    assert sum(t["held"] for t in runner) >= 0.75 * g["probe_contention"], (runner, g["probe_contention"])
    # worker rows carry the same figures
    rows = {w["tid"]: w for w in doc["workers"]}
    for t in pool:
        assert rows[t["tid"]]["gil_wait"] == pytest.approx(t["wait"], abs=0.002)
    # and no py-spy is left running (the autouse fixture checks processes too)
    assert not session.gil._live


@needs_pyspy
def test_sleeping_threads_do_not_wait_for_the_gil() -> None:
    _, doc = sampled_run("io", executor="thread", workers=8, duration=9.0)  # two stacks rounds
    g = doc["gil"]
    assert g["source"] == "py-spy", g["reason"]
    pool = workers(doc)
    assert len(pool) == 8
    # While the GIL is mostly free, native stacks come in short rounds (a few
    # samples a thread): a thread woken from its sleep that waits a moment for
    # the GIL is one sample of several.  Each thread waits at most 0.1, to
    # within one sample (the JSON rounds shares to 3 decimals: 1 of 6 reads
    # 0.167); the whole pool at most 0.1.
    for t in pool:
        assert t["wait"] <= 0.1 or t["wait"] * t["samples"] <= 1.0 + 0.0005 * t["samples"], pool
        assert t["released"] + t["idle"] >= 0.6, pool
    total = sum(t["samples"] for t in pool)
    assert sum(t["wait"] * t["samples"] for t in pool) / total <= 0.1, pool
    assert sum((t["released"] + t["idle"]) * t["samples"] for t in pool) / total >= 0.8, pool
    assert g["probe_contention"] <= 0.3  # the probe agrees: the GIL is free


@needs_pyspy
def test_process_workers_each_hold_their_own_gil() -> None:
    _, doc = sampled_run("cpu", executor="process", workers=2, params={"size": "1000000"})
    g = doc["gil"]
    assert g["source"] == "py-spy", g["reason"]
    worker_pids = {w["pid"] for w in doc["workers"]}
    mains = [t for t in g["threads"] if t["pid"] in worker_pids and t["tid"] == t["pid"]]
    assert len(mains) == 2, g["threads"]
    for t in mains:
        assert t["held"] >= 0.7, mains
        assert t["wait"] <= 0.2
    for w in doc["workers"]:
        assert w["gil_held"] is not None and w["gil_held"] >= 0.7
    assert g["probe_latency_ms"] is None  # no probe thread where fork could copy it


@needs_pyspy
@pytest.mark.slow
@pytest.mark.parametrize("workload,params", [
    ("hash", {"mb": "16", "rounds": "2"}),
    ("numpy", {"n": "800"}),
])
def test_c_code_that_drops_the_gil_is_released(workload: str, params: Dict[str, str]) -> None:
    _, doc = sampled_run(workload, executor="thread", workers=2, params=params, duration=3.0)
    g = doc["gil"]
    assert g["source"] == "py-spy", g["reason"]
    pool = workers(doc)
    assert len(pool) == 2
    for t in pool:
        assert t["held"] <= 0.4, pool
        assert t["released"] >= max(t["held"], t["wait"], t["idle"]), pool


def _run_as_nobody(tmp: str, args: List[str]) -> subprocess.CompletedProcess:
    """``execscope ARGS`` as user nobody, from copies in ``tmp`` of what it needs
    (the checkout and its venv may sit in a directory only root can read, as a
    fresh ``mktemp -d`` clone does): the packages, psutil and py-spy."""
    import psutil

    src = os.path.join(tmp, "src")
    for name in ("execscope", "workloads"):
        shutil.copytree(os.path.join(ROOT, name), os.path.join(src, name),
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(os.path.dirname(psutil.__file__), os.path.join(src, "psutil"),
                    ignore=shutil.ignore_patterns("__pycache__", "tests"))
    spy = os.path.join(tmp, "py-spy")
    shutil.copy(PYSPY, spy)
    for base, dirs, files in os.walk(tmp):
        for entry in dirs + files:
            os.chmod(os.path.join(base, entry), 0o755)
    env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "PYTHONPATH": src, pyspy.PYSPY_ENV: spy,
           "EXECSCOPE_TEST_MARK": os.environ.get("EXECSCOPE_TEST_MARK", "")}
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           "/usr/bin/python3", "-m", "execscope"] + args,
                          capture_output=True, text=True, timeout=120, cwd=tmp, env=env)


as_root_with_setpriv = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None or not os.path.exists("/usr/bin/python3"),
    reason="needs root, setpriv and /usr/bin/python3 to act as another user")


@needs_pyspy
@as_root_with_setpriv
def test_an_ordinary_user_samples_its_own_run() -> None:
    """Non-root, with this machine's ptrace settings (no Yama here: a process
    of the same user may be traced; under ptrace_scope=1 the runner's
    PR_SET_PTRACER does the same job).  /usr/bin/python3, because the pyenv
    interpreters live in root's home, which other users cannot read."""
    tmp = tempfile.mkdtemp(prefix="execscope-nobody-")
    try:
        os.chmod(tmp, 0o777)
        out = _run_as_nobody(tmp, ["run", "cpu", "--executor", "thread", "--workers", "4",
                                   "--duration", "2", "--headless", "--json", os.path.join(tmp, "run.json")])
        assert out.returncode == 0, out.stdout + out.stderr
        with open(os.path.join(tmp, "run.json")) as fh:
            doc = json.load(fh)
        assert doc["gil"]["source"] == "py-spy", doc["gil"]["reason"]
        assert len(workers(doc)) == 4
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@needs_pyspy
@as_root_with_setpriv
def test_denied_sampling_says_why_and_the_probe_still_reports(tmp_path, monkeypatch) -> None:
    """py-spy running as another user than the run's: the kernel refuses."""
    wrapper = tmp_path / "py-spy-as-nobody"
    wrapper.write_text("#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups %s \"$@\"\n" % PYSPY)
    wrapper.chmod(0o755)
    monkeypatch.setenv(pyspy.PYSPY_ENV, str(wrapper))
    session, doc = sampled_run("cpu", executor="thread", workers=2, duration=2.0)
    assert doc["status"] == "completed" and doc["tasks"]["completed"] > 0
    g = doc["gil"]
    assert g["source"] == "probe"
    # py-spy's user is hidden behind the wrapper, so the advice is the general
    # one (test_gil.py checks each specific case); it names a fix either way.
    assert g["reason"].startswith("py-spy may not attach to the runner: ")
    assert "run as root" in g["reason"]
    assert g["threads"] == []
    assert g["probe_latency_ms"] is not None and g["probe_contention"] is not None
    assert all(w["gil_wait"] is None for w in doc["workers"])


def test_without_sampling_the_probe_is_the_source() -> None:
    config = RunConfig(workload="cpu", executor="thread", workers=2, duration=1.0, gil_sampling=False)
    session = Session(config)
    session.run(timeout=60)
    g = run_json(session.record())["gil"]
    assert g["source"] == "probe" and g["probe_latency_ms"] is not None


@needs_pyspy
def test_doctor_reports_pyspy_and_ptrace() -> None:
    # Ground truth first: can py-spy read a Python process here, as the test runs?
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        give_up = time.monotonic() + 10
        while True:
            dump = subprocess.run([PYSPY, "dump", "--pid", str(child.pid)], capture_output=True, text=True,
                                  timeout=30)
            if dump.returncode == 0 or time.monotonic() > give_up:
                break
            time.sleep(0.2)  # the child may not have started its interpreter yet
    finally:
        child.kill()
        child.wait()
    text = "\n".join(gil.doctor_lines())
    assert "py-spy" in text and "ptrace scope" in text
    if dump.returncode == 0:
        assert "gil sampling  works" in text, text
    else:
        assert "gil sampling  cannot attach here: " in text, (text, dump.stderr)


def _version(python: str) -> Tuple[int, ...]:
    return tuple(int(x) for x in os.path.basename(python)[len("python"):].split("."))


PYENV = [p for p in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3.*[0-9]")),
                           key=_version) if _version(p) >= (3, 9)]


@needs_pyspy
@pytest.mark.slow
@pytest.mark.parametrize("python", PYENV or ["none"])
def test_every_gil_interpreter_is_sampled(python: str) -> None:
    if python == "none":
        pytest.skip("no pyenv interpreters here")
    _, doc = sampled_run("cpu", executor="thread", workers=2, python=python, duration=2.0)
    g = doc["gil"]
    assert g["source"] == "py-spy", g["reason"]
    pool = workers(doc)
    assert len(pool) == 2 and all(t["wait"] >= 0.3 for t in pool), pool
    if _version("python" + ".".join(doc["interpreter"]["version"].split(".")[:2])) >= (3, 12):
        assert "main interpreter only" in g["reason"]


@pytest.mark.parametrize("message,expected", [
    ("Error: Failed to find a python interpreter in the .data section", "cannot read the runner's interpreter"),
    ("Permission Denied: Try running again with elevated permissions", "may not attach to the runner"),
])
def test_py_spy_failures_become_one_reason(tmp_path, monkeypatch, message: str, expected: str) -> None:
    """A py-spy that cannot read the interpreter (free-threaded 3.13t with
    py-spy 0.4) or may not attach: the run goes on, the probe reports."""
    fake = tmp_path / "py-spy"
    fake.write_text("#!/bin/sh\nif [ \"$1\" = --version ]; then echo py-spy 0.4.3; exit 0; fi\n"
                    "echo '%s' >&2\nexit 1\n" % message)
    fake.chmod(0o755)
    monkeypatch.setenv(pyspy.PYSPY_ENV, str(fake))
    _, doc = sampled_run("cpu", executor="thread", workers=2, duration=1.5)
    assert doc["status"] == "completed"
    g = doc["gil"]
    assert g["source"] == "probe" and expected in g["reason"], g
    assert g["probe_latency_ms"] is not None


@needs_pyspy
def test_a_program_of_ones_own_is_sampled_too() -> None:
    """``execscope run -- python prog.py``: the program's process is the target."""
    argv = (sys.executable, os.path.join(ROOT, "tests", "programs", "spin_pool.py"), "3")
    config = RunConfig(workload="spin_pool", argv=argv, timeout=3.0, gil_sampling=True)
    session = Session(config, gil_sampler_factory=gil.make_sampler)
    session.run(timeout=60)
    g = run_json(session.record())["gil"]
    assert g["source"] == "py-spy", g["reason"]
    spin = [t for t in g["threads"] if t["name"].startswith("spin_")]
    assert len(spin) == 3 and sum(t["wait"] for t in spin) / 3 >= 0.4, spin  # theory: 2/3
    assert not any(t["name"].startswith("execscope-") for t in g["threads"])  # the injected agent's thread
