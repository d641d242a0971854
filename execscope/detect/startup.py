"""Worker start-up is a large share of a short run (claims C11, C12).

A process pool pays to start its workers before any of them computes: a fork
copies the parent (milliseconds), spawn starts a fresh interpreter that
imports the task's modules again (tens to hundreds of milliseconds), and
forkserver forks from a clean server process (its first start includes the
server).  For a long run this is noise; for a short one it can be most of it.

Cost: the mean worker start-up, from pool creation until the worker was ready
(as in the run JSON's ``worker_startup_s.mean``).  Run length: the finished
run's own (``run_elapsed_s``), or while it runs, a projection from the tasks
left and the rate since start-up; the alert needs the share at or above
``RAISE_SHARE`` and a start-up of at least ``MIN_STARTUP_S`` (below that
nothing a person would restructure for is at stake).
"""

from __future__ import annotations

from typing import Optional, Sequence

from ..families import uses_processes
from ..model import Snapshot
from ..fmt import fmt_s
from .base import Finding, mean, r, was_active

KIND = "startup_dominated"
RAISE_SHARE = 0.3
KEEP_SHARE = 0.25
MIN_STARTUP_S = 0.05

_WHY = {
    "spawn": "spawn starts a fresh interpreter per worker that imports the task's modules again",
    "forkserver": "forkserver forks each worker from a server process it starts first",
    "fork": "fork copies the parent process for each worker",
}


def _run_length(snap: Snapshot, startup: float) -> Optional[float]:
    """The run's length: measured once it completed, else projected."""
    if snap.status == "completed":
        return snap.run_elapsed_s
    if snap.status != "running":
        return None  # stopped, failed or timed out: not a "short run"
    elapsed = snap.run_elapsed_s
    workers = snap.max_workers or len(snap.workers) or 1
    finished = snap.counts.finished
    if snap.config.duration is not None:
        return startup + snap.config.duration
    if snap.expected_tasks and finished >= workers and elapsed > startup:
        rate = finished / (elapsed - startup)
        return elapsed + max(0, snap.expected_tasks - finished) / rate
    return None


def startup_dominated(history: Sequence[Snapshot]) -> Optional[Finding]:
    snap = history[-1]
    if not uses_processes(snap.config.executor):
        return None
    startups = [w.startup_s for w in snap.workers if w.startup_s is not None]
    if not startups:
        return None
    startup = mean(startups)
    if startup < MIN_STARTUP_S:
        return None
    total = _run_length(snap, startup)
    if not total or total <= 0:
        return None
    share = min(1.0, startup / total)
    if share < (KEEP_SHARE if was_active(history, KIND) else RAISE_SHARE):
        return None
    method = snap.config.start_method or "?"
    projected = snap.status != "completed"
    message = ("starting the workers took %s on average (%s), %.0f%% of this %s%s run"
               % (fmt_s(startup), _WHY.get(method, method), 100 * share,
                  "projected " if projected else "", fmt_s(total)))
    if method == "spawn":
        remedy = ("start-up is paid once per pool: reuse one pool for many batches instead of one per batch, "
                  "use forkserver (the 3.14 default) or fork when the parent has no threads, or for work this "
                  "short use threads or a serial loop (C11, C12)")
    else:
        remedy = ("start-up is paid once per pool: reuse one pool for many batches instead of one per batch, "
                  "or for work this short use threads or a serial loop, which start in microseconds (C11, C12)")
    evidence = {
        "start_method": method,
        "worker_startup_mean_s": r(startup, 4),
        "worker_startup_max_s": r(max(startups), 4),
        "workers": len(startups),
        "run_s": r(total, 3),
        "run_projected": projected,
        "startup_share": r(share, 3),
        "first_task_start_s": r(snap.first_task_start_s, 4),
    }
    return Finding(KIND, "warning", message, remedy, evidence, "workers", snap.startup_s)
