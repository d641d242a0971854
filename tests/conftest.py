"""Shared fixtures: every test that spawns processes must leave none behind."""

from __future__ import annotations

import multiprocessing.util
import os
import sys
import threading
import time
import uuid
from typing import Optional

import psutil
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


# Every process these tests start inherits this mark in its environment, so
# that orphans (reparented away from us) are still found, and processes of
# anyone else on the machine are never mistaken for ours.
pytest_plugins = ["pytester"]  # tests/test_leftover_check.py runs this file on tests that leak

MARK = "EXECSCOPE_TEST_MARK"
# One mark per test process: under pytest-xdist each worker has its own, so a
# worker never takes another's processes for its leftovers.
if os.environ.get("PYTEST_XDIST_WORKER") or MARK not in os.environ:
    os.environ[MARK] = uuid.uuid4().hex


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


# The check costs a scan of every process on the machine (their environments
# included), so it runs only around tests that start a process: an audit hook
# (and a wrapper for multiprocessing's spawn and forkserver, which start their
# processes without an audit event) notes the first start during a test and
# takes the "before" picture right then, before the new process exists.
SPAWN_EVENTS = frozenset({"subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn",
                          "os.system", "os.startfile", "pty.spawn"})


class _Watch:
    """Whether the running test has started a process, and what ran before it did."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.active = False
        self.before: Optional[dict] = None
        self.scans = 0  # "before" pictures taken, for the test of this check

    def started(self) -> None:
        if not self.active or self.before is not None or os.getpid() != self.pid:
            return  # no test running, already noted, or a forked child
        with self.lock:
            if self.before is None:
                self.scans += 1
                self.before = _ours()


WATCH = _Watch()


def _audit(event: str, args: tuple) -> None:
    if event in SPAWN_EVENTS and WATCH.active:
        WATCH.started()


sys.addaudithook(_audit)


def _noting(spawn):
    def spawnv_passfds(*args, **kwargs):
        WATCH.started()
        return spawn(*args, **kwargs)
    return spawnv_passfds


multiprocessing.util.spawnv_passfds = _noting(multiprocessing.util.spawnv_passfds)


@pytest.fixture(autouse=True)
def no_leftover_processes():
    """Fails a test that started a process and left one running."""
    WATCH.before, WATCH.active = None, True
    try:
        yield
    finally:
        WATCH.active = False
    before, WATCH.before = WATCH.before, None
    if before is not None:
        alive = leftover_processes(before)
        assert not alive, "processes left behind: %s" % alive


@pytest.fixture(scope="module")
def monkeypatch_module():
    """A monkeypatch usable with hypothesis (function-scoped fixtures are not)."""
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()
