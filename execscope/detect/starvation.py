"""Worker starvation: tasks that wait on their own executor (claim C5).

A task that submits sub-tasks to the pool it runs on and blocks on their
results holds a worker while it waits.  The runner sees it directly: a worker
thread whose stack is inside ``Future.result``/``wait`` is ``blocked``, on the
task id of the future it waits for.

- Hard form (critical): every worker is blocked and tasks are queued.  Nothing
  can ever run again; the session stops the run after a grace period.
- Soft form (warning): for a second, at least half the workers are blocked
  and at least as many tasks are queued as workers are left, so queue wait
  dominates: each queued task waits a full service time or more.  (Finished
  tasks' compute cannot be the yardstick here: a blocked parent's "compute"
  is its wait.)  The pool is effectively smaller than it looks.

Process workers cannot submit to their parent's pool, so this applies to
thread pools (and the one-thread serial baseline).
"""

from __future__ import annotations

from typing import List, Optional, Sequence

from ..families import uses_processes
from ..model import Snapshot, WorkerView
from ..fmt import fmt_s
from .base import Finding, mean, r, recent, task_window, was_active

KIND = "starvation"
SOFT_BLOCKED_SHARE = 0.5  # half the workers or more
SOFT_PERSIST_S = 0.5  # how long the soft form must last before it is raised

REMEDY = ("do not wait on futures of the pool you run in: give sub-tasks their own executor, "
          "chain them with add_done_callback, or flatten the work to a single level")


def starvation(history: Sequence[Snapshot]) -> Optional[Finding]:
    snap = history[-1]
    if uses_processes(snap.config.executor) or not snap.workers:
        return None
    return _deadlock(history) or _soft(history)


def _blocked_since(history: Sequence[Snapshot], w: WorkerView) -> float:
    """Earliest moment this worker can have started waiting: the last time it
    was seen on the same task but not yet blocked, else when the task began."""
    snap = history[-1]
    lower = w.since_s if w.since_s is not None else snap.t_s - w.state_age_s
    for prev in reversed(history[:-1]):
        row = next((p for p in prev.workers if p.key == w.key), None)
        if row is None or row.task != w.task:
            break
        if row.state != "blocked":
            seen = row.since_s + row.state_age_s if row.since_s is not None else prev.t_s
            lower = max(lower, seen)
            break
    return lower


def _deadlock(history: Sequence[Snapshot]) -> Optional[Finding]:
    snap = history[-1]
    workers = snap.max_workers or len(snap.workers)
    blocked = [w for w in snap.workers if w.state == "blocked"]
    if len(blocked) < workers or snap.counts.queued <= 0:
        return None
    waits = {w.label: w.blocked_on for w in blocked}
    waited = sorted({t for t in waits.values() if t >= 0})
    since = max(_blocked_since(history, w) for w in blocked)
    return Finding(
        kind=KIND,
        severity="critical",
        message=(
            "deadlock: all %d workers are blocked waiting on tasks of their own executor, "
            "and those %d queued tasks have no worker left to run them" % (workers, snap.counts.queued)
        ),
        remedy=REMEDY,
        evidence={
            "form": "deadlock",
            "blocked_workers": sorted(waits),
            "running_tasks": sorted(w.task for w in blocked),
            "waiting_on_tasks": waited,
            "queued": snap.counts.queued,
            "max_workers": workers,
            "all_blocked_since_s": r(since, 3),
        },
        panel="workers",
        since_t_s=since,
    )


def _starving(snap: Snapshot) -> bool:
    """Half the workers or more blocked, and at least as many tasks queued as
    there are workers left: every queued task waits a full service time or
    more (Little's law: wait = queued / rate, service = free workers / rate)."""
    workers = snap.max_workers or len(snap.workers)
    if not workers or snap.status != "running":
        return False
    blocked = snap.counts.blocked
    return blocked / workers >= SOFT_BLOCKED_SHARE and snap.counts.queued >= max(1, workers - blocked)


def _soft(history: Sequence[Snapshot]) -> Optional[Finding]:
    snap = history[-1]
    if snap.status != "running":
        return None
    if not _starving(snap):
        return None
    since = snap.t_s
    for s in reversed(history):
        if not _starving(s):
            break
        since = s.t_s
    # Raised after half a second of it; once raised, kept exactly as long as it lasts.
    if snap.t_s - since < SOFT_PERSIST_S - 1e-6 and not was_active(history, KIND):
        return None
    window = recent(history, SOFT_PERSIST_S)
    workers = snap.max_workers or len(snap.workers)
    blocked: List[WorkerView] = [w for w in snap.workers if w.state == "blocked"]
    free = max(0, workers - len(blocked))
    first, last = window[0], window[-1]
    dt = last.t_s - first.t_s
    rate = (last.counts.finished - first.counts.finished) / dt if dt > 0 else 0.0
    wait = snap.counts.queued / rate if rate > 0 else None
    tasks = task_window(history, SOFT_PERSIST_S, min_tasks=1)
    message = ("%d of %d workers are blocked waiting on tasks of their own executor, leaving %d to run %d queued "
               "tasks" % (len(blocked), workers, free, snap.counts.queued))
    if wait is not None:
        message += ": each waits ~%s in the queue on average" % fmt_s(wait)
    else:
        message += ": the queue is not moving"
    return Finding(
        kind=KIND,
        severity="warning",
        message=message,
        remedy=REMEDY,
        evidence={
            "form": "starving",
            "blocked_workers": sorted(w.label for w in blocked),
            "waiting_on_tasks": sorted({w.blocked_on for w in blocked if w.blocked_on >= 0}),
            "blocked_share": r(mean(s.counts.blocked / workers for s in window), 3),
            "queued": snap.counts.queued,
            "free_workers": free,
            "max_workers": workers,
            "tasks_per_s": r(rate, 2),
            "expected_queue_wait_s": r(wait, 4),
            "measured_queue_wait_s": r(tasks.breakdown.queue, 4) if tasks else None,
        },
        panel="queue",
        since_t_s=since,
    )
