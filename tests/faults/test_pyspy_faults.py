"""py-spy failing under a live run: killed mid-run, or its binary gone mid-run.

The run itself must not notice beyond the GIL panel: it completes, the JSON
keeps every measurement, the GIL figures say where they came from, and no
py-spy (nor anything else the run started) is left behind."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from typing import List

import psutil
import pytest

from execscope.model import RunConfig
from execscope.report import run_json
from execscope.sampling import gil, pyspy
from execscope.session import Session

PYSPY, _WHY = pyspy.find_pyspy()
pytestmark = pytest.mark.skipif(PYSPY is None, reason="py-spy is not installed")


def _pyspy_children() -> List[psutil.Process]:
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "py-spy" in os.path.basename(proc.exe() or proc.name()):
                found.append(proc)
        except psutil.Error:
            pass
    return found


def _sampled_session(duration: float) -> Session:
    config = RunConfig(workload="cpu", executor="thread", workers=2, duration=duration, gil_sampling=True)
    return Session(config, gil_sampler_factory=gil.make_sampler)


def test_py_spy_killed_mid_run_leaves_the_run_whole():
    session = _sampled_session(duration=5.0)
    killed: List[int] = []
    stop = threading.Event()

    def killer() -> None:
        # every py-spy the sampler starts in the first 2.5 s is SIGKILLed
        deadline = time.monotonic() + 2.5
        while not stop.is_set() and time.monotonic() < deadline:
            for proc in _pyspy_children():
                if proc.pid not in killed:
                    try:
                        proc.send_signal(signal.SIGKILL)
                        killed.append(proc.pid)
                    except psutil.Error:
                        pass
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    session.start()
    thread.start()
    try:
        final = session.wait(timeout=60)
        doc = run_json(session.record())
    finally:
        stop.set()
        thread.join()
        session.close()
    assert killed, "no py-spy was seen to kill"
    assert final.status == "completed" and doc["status"] == "completed"
    assert doc["tasks"]["completed"] > 0 and doc["tasks"]["failed"] == 0
    g = doc["gil"]
    # the reason says what happened, and later rounds sample again
    assert "py-spy was killed (SIGKILL)" in g["reason"], g
    assert g["source"] == "py-spy", g
    assert any(t["name"].startswith("worker_") for t in g["threads"]), g
    assert not _pyspy_children()


def test_py_spy_binary_gone_mid_run_is_one_reason(tmp_path, monkeypatch):
    copy = tmp_path / "py-spy"
    shutil.copy(PYSPY, copy)
    copy.chmod(0o755)
    monkeypatch.setenv(pyspy.PYSPY_ENV, str(copy))
    session = _sampled_session(duration=4.0)
    session.start()
    try:
        deadline = time.monotonic() + 20
        while not _pyspy_children() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _pyspy_children(), "the sampler never started py-spy"
        copy.unlink()  # uninstalled under a live run
        final = session.wait(timeout=60)
        doc = run_json(session.record())
    finally:
        session.close()
    assert final.status == "completed" and doc["status"] == "completed"
    assert doc["tasks"]["completed"] > 0
    g = doc["gil"]
    assert "py-spy could not be started" in g["reason"], g
    assert g["probe_latency_ms"] is not None  # the probe still reports
    assert not _pyspy_children()
