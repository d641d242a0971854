"""fork while other threads are alive (claim C11), and the worker that hangs because of it.

``fork`` copies the whole memory of the parent but only the calling thread.  A
lock that another thread held at that instant (a logging handler's, an
allocator's, a module's own) is copied held, with no thread left in the child
to release it: the first child code that takes it waits forever.  Python 3.12+
warns about it (DeprecationWarning "This process is multi-threaded, use of
fork() may lead to deadlocks in the child"); 3.14 stops using fork by default.

Raised (warning) when a process pool uses fork and the runner had threads
other than the main one when its workers were forked, or the interpreter
warned about it.  Escalated to critical when a worker looks hung: a forked
worker still "starting" after ``HANG_S``, or one that has spent ``HANG_S`` in
its very first task without using any CPU.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from ..families import takes_start_method
from ..model import Snapshot, WorkerView
from .base import Finding, mean, r, recent, worker_series

KIND = "fork_with_threads"
HANG_S = 2.0  # a forked worker starts in milliseconds; a first task idle this long is stuck
IDLE_CPU = 2.0  # percent of one core: "no CPU at all"
_WARNING_WORDS = ("fork", "thread")
# execscope's own helper threads in the runner (a GIL probe, say) hold no lock
# a task could need; they are named with this prefix and not counted.
OWN_THREAD_PREFIX = "execscope-"


def _fork_warnings(snap: Snapshot) -> List[str]:
    return [w for w in snap.warnings if all(word in w.lower() for word in _WARNING_WORDS)]


def _starting_for(history: Sequence[Snapshot], w: WorkerView) -> float:
    """How long this worker has been listed as starting (it has not yet reported ready)."""
    first = history[-1].t_s
    for snap in reversed(history):
        row = next((x for x in snap.workers if x.key == w.key), None)
        if row is None or row.state != "starting":
            break
        first = snap.t_s
    return history[-1].t_s - first


def hung_workers(history: Sequence[Snapshot]) -> List[Tuple[WorkerView, float, str]]:
    """(worker, seconds, how) for forked workers that look stuck, as of the
    last tick the run was running (a run stopped for it keeps the verdict)."""
    end = len(history)
    while end > 0 and history[end - 1].status != "running":
        end -= 1
        if len(history) - end > 50:
            return []
    if end == 0:
        return []
    history = history[:end]
    snap = history[-1]
    window = recent(history, 1.0)
    out = []
    for w in snap.workers:
        if w.kind != "process":
            continue
        if w.state == "starting":
            waited = _starting_for(history, w)
            if waited >= HANG_S:
                out.append((w, waited, "never finished starting"))
            continue
        if w.done == 0 and w.task >= 0 and w.state in ("running", "deserializing") and w.state_age_s >= HANG_S:
            cpu = [x.cpu_percent for x in worker_series(window, w.key) if x.cpu_percent is not None]
            if len(cpu) >= 3 and mean(cpu) < IDLE_CPU:
                out.append((w, w.state_age_s, "idle in its first task"))
    return out


def fork_with_threads(history: Sequence[Snapshot]) -> Optional[Finding]:
    snap = history[-1]
    if not takes_start_method(snap.config.executor) or snap.config.start_method != "fork":
        return None
    others = [name for name in snap.threads_at_first_submit
              if name != "MainThread" and not name.startswith(OWN_THREAD_PREFIX)]
    warned = _fork_warnings(snap)
    if not others and not warned:
        return None
    hung = hung_workers(history)
    parent = "the runner" if snap.source == "runner" else "the program"
    if others:
        alive = "%s had %d other thread(s) alive (%s)" % (parent, len(others), ", ".join(others))
    else:
        alive = "%s was multi-threaded (the interpreter warned about it)" % parent
    message = ("the process pool forked its workers while %s: any lock one of them held at that instant is "
               "copied locked into every worker, with no thread there to release it" % alive)
    if hung:
        w, seconds, how = max(hung, key=lambda h: h[1])
        message += "; %d worker(s) look deadlocked (%s %s for %.1f s)" % (len(hung), w.label, how, seconds)
    evidence = {
        "start_method": "fork",
        "threads_at_fork": list(snap.threads_at_first_submit),
        "other_threads": len(others),
        "python_warning": warned[-1] if warned else None,
        "python_version": snap.interpreter.get("version"),
        "hung_workers": [{"worker": w.label, "pid": w.pid, "state": w.state, "task": w.task,
                          "seconds": r(s, 2), "how": how} for w, s, how in hung],
    }
    remedy = ("use the spawn or forkserver start method (forkserver is the Linux default from 3.14), or "
              "create the pool before any thread starts (C11)")
    return Finding(KIND, "critical" if hung else "warning", message, remedy, evidence, "workers",
                   snap.startup_s)
