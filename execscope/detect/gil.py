"""GIL contention: a thread pool running CPU-bound Python (claims C1, C2).

Threads of one process share one GIL: however many workers run pure Python,
one executes bytecode at a time and the others wait for the lock.  Three
kinds of evidence, best first:

1. the GIL sampler (``WorkerView.gil_wait``): the running workers spend on
   average half their time or more waiting for the GIL;
2. the scheduler (``WorkerView.voluntary_switches``, see
   ``sampling/sched.py``): two or more workers compute (each gets a real
   slice of CPU) and each also goes to sleep by itself at least once per four
   switch intervals (50 times a second at the default 5 ms), i.e. it keeps
   waiting for a lock while it has work: measured ~170/s for GIL-bound
   threads against 2-4/s for threads in NumPy with the GIL released, on an
   idle and on a saturated box alike (other load causes involuntary switches);
3. CPU alone (no /proc): two or more workers compute, together they use no
   more than one core, and at least half a usable core sits idle (the load
   of other processes on the machine subtracted).

In every path the computing workers together stay within about one core
(``ONE_CORE``): beyond that the threads demonstrably run in parallel.
Threads waiting on I/O get almost no CPU and never count as computing.  Paths
2 and 3 need two or more usable CPUs: on one CPU the threads could not run in
parallel anyway, so the GIL costs nothing a process pool would win back.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from ..model import Snapshot
from .base import (DEFAULT_SWITCH_INTERVAL_S, MIN_SAMPLES, SLEEPS_PER_INTERVAL, WINDOW_S, Finding, mean, r, recent,
                   switch_rates, was_active)

KIND = "gil_contention"
RAISE_WAIT = 0.5  # mean GIL-wait share of the running workers
KEEP_WAIT = 0.4
COMPUTING_SHARE = 0.3  # a worker computes if it gets 30% of an even split of the pool's CPU
MIN_WORKER_CPU = 5.0  # percent of one core
ONE_CORE = 120.0  # the pool's CPU, in % of one core: one core plus sampling noise
KEEP_POOL_CPU = 135.0
KEEP_SLEEPS = 0.15
IDLE_HEADROOM = 50.0  # CPU path: half a usable core left idle by the pool
KEEP_IDLE = 30.0

REMEDY = ("for CPU-bound pure Python use a ProcessPoolExecutor (one GIL per process, C6); or move the hot "
          "loop into code that releases the GIL such as NumPy (C13); or run it on a free-threaded build, "
          "3.13t or later (C14)")


def _gil_off(snap: Snapshot) -> bool:
    return snap.gil.source == "disabled" or snap.interpreter.get("gil_enabled") is False


def _running(snap: Snapshot) -> List:
    return [w for w in snap.workers if w.state == "running"]


def gil_contention(history: Sequence[Snapshot]) -> Optional[Finding]:
    snap = history[-1]
    if snap.config.executor != "thread" or _gil_off(snap):
        return None
    window = recent(history, WINDOW_S)
    if len(window) < MIN_SAMPLES:
        return None
    running_mean = mean(len(_running(s)) for s in window)
    if running_mean < 1.5:
        return None
    active = was_active(history, KIND)
    usable = snap.cpu.usable_cpus or 0
    since = window[0].t_s

    # Per-worker CPU over the window, while running.
    cpu: Dict[str, List[float]] = {}
    labels: Dict[str, str] = {}
    for s in window:
        for w in _running(s):
            labels[w.key] = w.label
            if w.cpu_percent is not None:
                cpu.setdefault(w.key, []).append(w.cpu_percent)
    per_worker = {key: mean(values) for key, values in cpu.items()}
    # The pool's CPU tick by tick (all its workers, whatever their state).
    pool_cpu = mean(sum(w.cpu_percent for w in s.workers if w.cpu_percent is not None) for s in window)
    even = pool_cpu / max(1.0, running_mean)
    computing = [k for k, v in per_worker.items() if v >= max(MIN_WORKER_CPU, COMPUTING_SHARE * even)]
    interval = snap.interpreter.get("switch_interval_s") or DEFAULT_SWITCH_INTERVAL_S
    evidence = {
        "running_workers": r(running_mean, 2),
        "computing_workers": len(computing),
        "pool_cpu_percent": r(pool_cpu, 1),
        "worker_cpu_percent": {labels[k]: r(v, 1) for k, v in sorted(per_worker.items())},
        "usable_cpus": usable,
        "switch_interval_s": interval,
        "window_s": r(window[-1].t_s - window[0].t_s, 2),
    }

    waits = [w.gil_wait for w in _running(snap) if w.gil_wait is not None]
    if len(waits) >= 2:
        wait = mean(waits)
        if wait < (KEEP_WAIT if active else RAISE_WAIT):
            return None
        evidence.update({"source": snap.gil.source, "gil_wait_mean": r(wait, 3)})
        message = ("%d threads run Python that holds the GIL: they spend %.0f%% of their time waiting for it, "
                   "so only one computes at a time (C2)" % (len(waits), 100 * wait))
        return Finding(KIND, "warning", message, REMEDY, evidence, "workers", since)

    if usable < 2 or len(computing) < 2:
        return None
    if pool_cpu > (KEEP_POOL_CPU if active else ONE_CORE):
        return None  # more than one core's worth: the threads do run in parallel

    rates = switch_rates(window)
    if all(k in rates for k in computing):
        need = (KEEP_SLEEPS if active else SLEEPS_PER_INTERVAL) / interval
        sleepers = [k for k in computing if rates[k] >= need]
        if len(sleepers) < 2:
            return None
        sleeps = mean(rates[k] for k in sleepers)
        evidence.update({
            "source": "scheduler",
            "waiting_workers": len(sleepers),
            "voluntary_switches_per_s": r(sleeps, 1),
        })
        message = ("%d threads compute Python yet each sleeps ~%.0f times a second waiting for the GIL: they "
                   "take turns, using %.0f%% of one core together while %d CPUs are usable (C2)"
                   % (len(sleepers), sleeps, pool_cpu, usable))
        return Finding(KIND, "warning", message, REMEDY, evidence, "workers", since)

    # CPU only: about one core in use while a usable core's worth sits idle.
    machine_busy = mean(s.cpu.total_percent for s in window) * (snap.cpu.logical_cpus or usable)
    tree = mean(s.cpu.tree_percent for s in window)
    idle = usable * 100.0 - max(0.0, machine_busy - tree) - pool_cpu
    if idle < (KEEP_IDLE if active else IDLE_HEADROOM):
        return None
    evidence.update({"source": "cpu", "idle_cpu_percent": r(idle, 1)})
    message = ("%d threads compute Python but together use only %.0f%% of one core while %.0f%% of usable "
               "CPU sits idle: they take turns holding the GIL (C2)" % (len(computing), pool_cpu, idle))
    return Finding(KIND, "warning", message, REMEDY, evidence, "workers", since)
