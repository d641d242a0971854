"""Shared fixtures: every test that spawns processes must leave none behind."""

from __future__ import annotations

import os
import sys
import time
import uuid

import psutil
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


# Every process these tests start inherits this mark in its environment, so
# that orphans (reparented away from us) are still found, and processes of
# anyone else on the machine are never mistaken for ours.
MARK = "EXECSCOPE_TEST_MARK"
os.environ.setdefault(MARK, uuid.uuid4().hex)


def _ours() -> dict:
    """Descendants of this test process, and every process carrying our mark."""
    me = psutil.Process()
    token = os.environ[MARK]
    found = {}
    for proc in me.children(recursive=True):
        try:
            found[proc.pid] = (proc.create_time(), " ".join(proc.cmdline()[:4]))
        except psutil.Error:
            pass
    for proc in psutil.process_iter(["pid", "create_time"]):
        if proc.pid == me.pid or proc.pid in found:
            continue
        try:
            if proc.environ().get(MARK) == token:
                found[proc.pid] = (proc.info["create_time"], " ".join(proc.cmdline()[:4]))
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


@pytest.fixture(scope="module")
def monkeypatch_module():
    """A monkeypatch usable with hypothesis (function-scoped fixtures are not)."""
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()
