"""A process worker died: exit code or signal, and the pool it broke.

When a worker process ends abruptly, ``ProcessPoolExecutor`` marks itself
broken: every pending future fails with ``BrokenProcessPool`` and the pool
refuses new work.  It then terminates the surviving workers itself (SIGTERM),
so among the dead, those ended by SIGTERM while another worker died otherwise
are collateral; the other one is the cause.

The runner reports each worker's exit code as it notices it (negative: the
signal that killed it).  Exit code 0 is a worker that ended normally.  The
alert stays active: a broken pool stays broken.
"""

from __future__ import annotations

import signal
from typing import List, Optional, Sequence, Tuple

from ..families import uses_processes
from ..model import Snapshot
from ..signals import exit_signal
from .base import Finding, r

KIND = "worker_crash"


def signal_name(code: int) -> Optional[str]:
    return exit_signal(code)


def _how(code: int) -> str:
    name = signal_name(code)
    return "was killed by %s" % name if name else "exited with code %d" % code


def _remedy(code: int) -> str:
    name = signal_name(code)
    if name == "SIGKILL":
        first = ("SIGKILL usually comes from the kernel's out-of-memory killer: check the memory each worker "
                 "holds (dmesg says), send less data per task or run fewer workers")
    elif name in ("SIGSEGV", "SIGBUS", "SIGABRT", "SIGILL", "SIGFPE"):
        first = ("a crash in native code (a C extension): run the failing task serially with faulthandler "
                 "enabled to see where")
    elif name:
        first = "something outside the pool sent %s to the worker" % name
    else:
        first = ("the task ended its process (os._exit, or a C library calling exit) instead of raising: "
                 "raise an exception so the pool can report it")
    return first + "; a broken pool cannot be reused, so create a new one"


def worker_crash(history: Sequence[Snapshot]) -> Optional[Finding]:
    snap = history[-1]
    if not uses_processes(snap.config.executor):
        return None
    times = list(snap.worker_exit_t_s) + [snap.t_s] * (len(snap.worker_exits) - len(snap.worker_exit_t_s))
    dead: List[Tuple[int, int, float]] = [(pid, code, t) for (pid, code), t in zip(snap.worker_exits, times)
                                          if code != 0]
    if not dead and not snap.pool_broken:
        return None
    causes = [d for d in dead if d[1] != -signal.SIGTERM] or dead
    collateral = [d for d in dead if d not in causes]
    failed = snap.counts.failed
    if causes:
        pid, code, t = min(causes, key=lambda d: d[2])
        message = "worker pid %d %s" % (pid, _how(code))
        if len(causes) > 1:
            message += " (and %d more worker(s) died)" % (len(causes) - 1)
        remedy = _remedy(code)
    else:
        pid, code, t = 0, 0, snap.t_s
        message = "a worker process ended abruptly (its exit code is not known yet)"
        remedy = _remedy(0)
    if snap.config.executor == "pool":
        if snap.pool_broken:
            message += ("; multiprocessing.Pool does not notice: it starts a replacement worker and the task "
                        "the dead one ran never completes, so a map or get() waiting for it waits forever")
            remedy += ("; a Pool gives no error for it: wait with a timeout (AsyncResult.get(timeout)) or use "
                       "ProcessPoolExecutor, which fails the pending tasks with BrokenProcessPool")
    elif snap.pool_broken or collateral:
        message += "; the pool is broken: %d task(s) failed and the other workers were stopped" % failed
    evidence = {
        "pid": pid or None,
        "exitcode": code if pid else None,
        "signal": signal_name(code) if pid else None,
        "died_at_s": r(t, 3) if pid else None,
        "dead_workers": [{"pid": p, "exitcode": c, "signal": signal_name(c), "t_s": r(tt, 3)}
                         for p, c, tt in dead],
        "stopped_by_pool": [p for p, _, _ in collateral],
        "pool_broken": snap.pool_broken or bool(collateral),
        "tasks_failed": failed,
        "tasks_completed": snap.counts.completed,
    }
    return Finding(KIND, "critical", message, remedy, evidence, "workers", t)
