"""Helpers for tests: run a session or the CLI and return what came out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Dict, List, Tuple

import psutil

from execscope.model import RunConfig
from execscope.report import run_json
from execscope.session import Session

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_session(workload: str, timeout: float = 60.0, **kwargs: Any) -> Tuple[Session, Dict[str, Any]]:
    """One real run through the session (no GIL sampling unless asked)."""
    kwargs.setdefault("gil_sampling", False)
    config = RunConfig(workload=workload, **kwargs)
    session = Session(config)
    session.run(timeout=timeout)
    return session, run_json(session.record())


def cli(*args: str, timeout: float = 120.0, env: Dict[str, str] = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.pop("PYTHONPATH", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "execscope", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=full_env,
    )


def command_line(proc: psutil.Process) -> str:
    """A process's command line, or "" once it has exited or turned zombie (a race when scanning a tree)."""
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


def still_running(procs: List[psutil.Process]) -> List[str]:
    """Those of ``procs`` still running (zombies count as gone), as "pid command" lines."""
    out = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                out.append("%d %s" % (proc.pid, " ".join(proc.cmdline()[:4])))
        except psutil.Error:
            pass
    return out


def load(path: str) -> Dict[str, Any]:
    with open(path) as fh:
        return json.load(fh)


def start_methods() -> List[str]:
    import multiprocessing

    return [m for m in ("fork", "spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]


def start_session(workload: str, **kwargs: Any) -> Session:
    """A started session (GIL sampling off unless asked); the caller closes it."""
    kwargs.setdefault("gil_sampling", False)
    session = Session(RunConfig(workload=workload, **kwargs))
    session.start()
    return session


def wait_for(session: Session, predicate: Any, timeout: float = 20.0) -> Any:
    """Poll the session's snapshots until ``predicate(snapshot)`` holds; return it."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = session.snapshot()
        if snap is not None and predicate(snap):
            return snap
        time.sleep(0.05)
    raise AssertionError("condition not reached within %.0fs" % timeout)
