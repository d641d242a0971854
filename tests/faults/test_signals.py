"""Faults around the run: signals to execscope, execscope killed, runner killed.
After each, the run ends with a clear status and no process survives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from helpers import ROOT, command_line, run_session, start_session, still_running, wait_for


def _start(*args: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return subprocess.Popen([sys.executable, "-m", "execscope", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_tree(proc: subprocess.Popen, workers: int, timeout: float = 20.0) -> list:
    """Wait until execscope's runner and its pool workers are up; return them."""
    deadline = time.monotonic() + timeout
    parent = psutil.Process(proc.pid)
    while time.monotonic() < deadline:
        tree = parent.children(recursive=True)
        runners = [p for p in tree if "execscope_runner" in command_line(p)]
        if runners:
            pool = runners[0].children(recursive=True)
            if len(pool) >= workers:
                time.sleep(0.3)  # let the run get going
                return runners + runners[0].children(recursive=True)
        time.sleep(0.05)
    raise AssertionError("the run never started")


def _gone_within(procs: list, seconds: float) -> list:
    _, alive = psutil.wait_procs(procs, timeout=seconds)
    return still_running(alive)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_to_execscope_stops_the_run_and_keeps_the_json(tmp_path, sig):
    out = tmp_path / "o.json"
    proc = _start("run", "cpu", "--executor", "process", "--start-method", "fork", "--workers", "2",
                  "--duration", "60", "--headless", "--json", str(out))
    tree = _wait_for_tree(proc, 2)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 1, (stdout, stderr)
    assert "Traceback" not in stderr
    data = json.loads(out.read_text())
    assert data["status"] == "interrupted"
    assert signal.Signals(sig).name in data["reason"]
    assert data["tasks"]["completed"] > 0
    assert not _gone_within(tree, 5)


# The promise is "within 2 s"; a loaded CI machine gets a wider bound by
# default and the promise itself is checked by `make slow`.
@pytest.mark.parametrize("executor,bound_s", [
    ("process", 10.0), ("thread", 10.0),
    pytest.param("process", 2.0, marks=pytest.mark.slow), pytest.param("thread", 2.0, marks=pytest.mark.slow),
])
def test_execscope_killed_takes_runner_and_workers_down(executor, bound_s):
    extra = ["--start-method", "spawn"] if executor == "process" else []
    proc = _start("run", "cpu", "--executor", executor, *extra, "--workers", "2", "--duration", "60",
                  "--headless")
    tree = _wait_for_tree(proc, 2 if executor == "process" else 0)
    proc.kill()
    proc.wait(timeout=5)
    t0 = time.monotonic()
    alive = _gone_within(tree, bound_s)
    assert not alive, "still alive %.1fs after execscope was killed: %s" % (
        time.monotonic() - t0, alive)


def test_runner_killed_is_a_failed_run_with_a_clear_reason():
    from execscope.report import run_json

    session = start_session("cpu", executor="process", start_method="fork", workers=2, duration=60)
    try:
        wait_for(session, lambda snap: snap.counts.completed > 0)
        workers = psutil.Process(session.proc.pid).children(recursive=True)
        os.kill(session.proc.pid, signal.SIGKILL)
        final = session.wait(timeout=10)
    finally:
        session.close()
    assert final is not None and final.status == "failed"
    assert "runner process ended unexpectedly" in final.reason and "SIGKILL" in final.reason
    assert run_json(session.record())["tasks"]["completed"] > 0
    assert not _gone_within(workers, 3)


def test_completed_run_leaves_nothing_and_cleans_its_private_directory():
    session, out = run_session("noop", executor="process", start_method="forkserver", workers=2, tasks=20)
    assert out["status"] == "completed"
    assert session.run_dir and not os.path.exists(session.run_dir)


def test_runner_killed_by_a_real_time_signal_ends_the_run_naming_it():
    """signal.Signals has no name for SIGRTMIN+6: the run must still end, failed, naming it."""
    sig = signal.SIGRTMIN + 6
    session = start_session("cpu", executor="thread", workers=2, duration=60)
    try:
        wait_for(session, lambda snap: snap.counts.completed > 0)
        os.kill(session.proc.pid, sig)
        final = session.wait(timeout=10)  # a few seconds: the run has no --timeout to end it otherwise
    finally:
        session.close()
    assert final is not None and final.status == "failed", final and (final.status, final.reason)
    assert "SIGRTMIN+6" in final.reason
    assert not session.tick_errors, list(session.tick_errors)
