"""GIL ground truth from inside the runner, and leave to be sampled from outside.

The probe
---------
A thread that returns from ``time.sleep`` must take the GIL back before it can
run one more bytecode.  If another thread holds it, the sleeper waits until
the holder lets go: at the latest one switch interval after asking
(``sys.getswitchinterval()``, 5 ms by default), when the waiter sets the drop
request.  So how *late* a fixed sleep returns is, to within the operating
system's wake-up latency (tens of microseconds on a core with room), the time
that thread spent waiting for the GIL::

    probe thread:  sleep 5 ms ──► wakes ──► waits for the GIL ──► runs again
                   │◄── interval ──►│◄─── lateness ────►│

Every ``tick`` the runner reports, over the last second and over the whole
run, the mean lateness and the *contention*: the share of wake-ups that were
late by more than ``CONTENDED_S`` (1 ms: far above the wake-up latency of an
idle machine, a fifth of the default switch interval).  When every core is
busy the figure also contains CPU-scheduling delay, so it is an upper bound
on GIL waiting; it needs no permission and no py-spy, which is why it is the
fallback when sampling from outside is impossible.

The probe is one more thread in the process it measures.  It holds the GIL for
a few microseconds per wake-up, and under contention it forces one extra
switch per ~10 ms; ``benchmarks/gil_overhead.py`` measures the whole cost.

The runner starts it only for thread and serial executors.  In a process pool
the work runs in the workers, each with its own GIL, which the probe in the
runner cannot see; and a probe thread alive while ``fork`` copies the runner
would make execscope itself commit the fork-with-threads hazard it warns
about (claim C11).  Workers are measured by the sampler from outside.

Leave to be sampled
-------------------
With ``kernel.yama.ptrace_scope=1`` (the default on Ubuntu and others) a
process may only be traced by its ancestors.  The sampler's py-spy processes
are children of the execscope process, siblings of the runner, so the runner
(``allow_tracer`` early in its ``main``) and every process-pool worker (in
``worker.init_worker``) name the execscope process as their tracer with
``prctl(PR_SET_PTRACER)``; Yama then lets it and its descendants attach.
Where Yama is absent the call fails harmlessly.

Standard library only, Python 3.9 syntax.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a spawned worker ~5 ms to import
    from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

PROBE_THREAD_NAME = "execscope-gil-probe"
INTERVAL_S = 0.005
CONTENDED_S = 0.001
WINDOW_S = 1.0
TRACER_ENV = "EXECSCOPE_TRACER_PID"
SWITCH_ENV = "EXECSCOPE_GIL_PROBE"  # "0": no probe (to measure what it costs)
PR_SET_PTRACER = 0x59616D61  # "Yama"


class GilProbe:
    """Sleep ``interval_s``, time the lateness, forever (a daemon thread).

    The probe thread only appends to a list under a lock; ``report`` (called
    by the runner's main thread at each tick) does the arithmetic.
    """

    def __init__(self, interval_s: float = INTERVAL_S, contended_s: float = CONTENDED_S,
                 window_s: float = WINDOW_S, clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval_s = interval_s
        self.contended_s = contended_s
        self.window_s = window_s
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._pending: List[Tuple[float, float]] = []  # (woke at, lateness s)
        self._window: Deque[Tuple[float, float]] = deque()
        self._total_late = 0.0
        self._total_contended = 0
        self._total_n = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "GilProbe":
        self._thread = threading.Thread(target=self._run, name=PROBE_THREAD_NAME, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def _run(self) -> None:
        clock, sleep, interval = self.clock, self.sleep, self.interval_s
        stopped = self._stop.is_set
        while not stopped():
            t0 = clock()
            sleep(interval)
            t1 = clock()  # needs the GIL: this is where the waiting ends
            with self._lock:
                self._pending.append((t1, max(0.0, t1 - t0 - interval)))

    def add(self, woke_at: float, late_s: float) -> None:
        """Record one wake-up (what the thread does; also for tests)."""
        with self._lock:
            self._pending.append((woke_at, late_s))

    def report(self, now: Optional[float] = None) -> Dict[str, Any]:
        """Window (last ``window_s``) and whole-run figures, for a tick.

        ``ms``/``c``/``n``: mean lateness in milliseconds, contended share,
        wake-ups, over the window; ``total_*`` the same since the start.
        """
        with self._lock:
            batch, self._pending = self._pending, []
        threshold = self.contended_s
        for woke, late in batch:
            self._window.append((woke, late))
            self._total_late += late
            self._total_n += 1
            if late > threshold:
                self._total_contended += 1
        now = self.clock() if now is None else now
        while self._window and self._window[0][0] < now - self.window_s:
            self._window.popleft()
        n = len(self._window)
        late_sum = sum(late for _, late in self._window)
        contended = sum(1 for _, late in self._window if late > threshold)
        tn = self._total_n
        return {
            "ms": round(1000.0 * late_sum / n, 4) if n else None,
            "c": round(contended / n, 4) if n else None,
            "n": n,
            "total_ms": round(1000.0 * self._total_late / tn, 4) if tn else None,
            "total_c": round(self._total_contended / tn, 4) if tn else None,
            "total_n": tn,
        }


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "1") != "0"


def allow_tracer(pid: int) -> bool:
    """Let ``pid`` and its descendants ptrace this process (Yama ptrace_scope 1).

    Returns whether the kernel accepted it; False where Yama is absent (and
    then same-user tracing is allowed anyway) or off Linux.
    """
    if not sys.platform.startswith("linux") or pid <= 0:
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PTRACER, ctypes.c_ulong(pid), ctypes.c_ulong(0),
                          ctypes.c_ulong(0), ctypes.c_ulong(0)) == 0
    except Exception:
        return False


def allow_tracer_from_env() -> bool:
    """In a process-pool worker: allow the tracer the runner named in the environment."""
    try:
        pid = int(os.environ.get(TRACER_ENV, "0"))
    except ValueError:
        return False
    return allow_tracer(pid)
