"""Shared fixtures: every test that spawns processes must leave none behind."""

from __future__ import annotations

import os
import sys
import time

import psutil
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def _in_this_checkout(proc: psutil.Process, cmd: list) -> bool:
    """False for another checkout's test run on the same machine: its
    processes both work in that checkout and run its own venv's programs."""

    def inside(path: str) -> bool:
        path = os.path.abspath(path)
        return path == ROOT or path.startswith(ROOT + os.sep)

    try:
        cwd = proc.cwd()
    except psutil.Error:
        return True
    return inside(cwd) or (bool(cmd) and inside(cmd[0])) or not os.path.isabs(cmd[0] if cmd else "")


def _ours() -> dict:
    """Descendants of this test process, plus anything running our runner."""
    me = psutil.Process()
    found = {}
    for proc in me.children(recursive=True):
        try:
            found[proc.pid] = (proc.create_time(), " ".join(proc.cmdline()[:4]))
        except psutil.Error:
            pass
    for proc in psutil.process_iter(["pid", "cmdline", "create_time"]):
        try:
            cmd = proc.info["cmdline"] or []
            if any("execscope.runner" in part for part in cmd) or any(
                part.endswith("py-spy") for part in cmd[:1]
            ):
                if not _in_this_checkout(proc, cmd):
                    continue  # another checkout's test run on the same machine
                found[proc.pid] = (proc.info["create_time"], " ".join(cmd[:4]))
        except psutil.Error:
            pass
    return found


def leftover_processes(before: dict, settle_s: float = 3.0) -> list:
    deadline = time.monotonic() + settle_s
    while True:
        now = _ours()
        new = {pid: v for pid, v in now.items() if pid not in before or before[pid][0] != v[0]}
        alive = []
        for pid, (_, cmd) in new.items():
            try:
                proc = psutil.Process(pid)
                if proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append("%d %s" % (pid, cmd))
            except psutil.Error:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def no_leftover_processes():
    before = _ours()
    yield
    alive = leftover_processes(before)
    assert not alive, "processes left behind: %s" % alive
