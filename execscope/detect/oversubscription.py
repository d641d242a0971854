"""Oversubscription: more runnable work than usable CPUs (claim C4).

"Usable" is what this run may really use: the affinity mask and the cgroup
quota, not ``os.cpu_count()`` (a container can see 64 CPUs and be granted 2).
Demand is counted from the scheduler: at each tick, how many of the pool's
threads are runnable (``R`` in ``/proc``: on a CPU or queued for one), summed
over the workers only (the runner's own feeder and manager threads are IPC's
business, not the pool size's), averaged over a second.  A CPU-bound worker
process is runnable all the time whether or not it gets a core, so this does
not depend on what else loads the machine; a worker that sleeps on I/O is not.

In a thread pool, a worker that keeps sleeping for the GIL (its voluntary
context switches, as in ``gil``) is left out: it shows up runnable only while
a timed-out GIL wait queues for a CPU, and its problem is the GIL.

Two cases, told apart by where the runnable threads are:

- more busy workers than usable CPUs (``max_workers`` too high for the quota);
- threads inside each process worker multiplying (a BLAS or OpenMP pool per
  process: processes x threads runnable at once).

It is raised when demand reaches usable CPUs + 1: at least one whole thread
more than there are CPUs, on average, for the window.  Without /proc the
fallback counts workers in the ``running`` state while the run's processes
use at least 90% of the usable CPUs.
"""

from __future__ import annotations

from typing import Optional, Sequence

from ..families import uses_processes
from ..model import Snapshot
from .base import (DEFAULT_SWITCH_INTERVAL_S, MIN_SAMPLES, SLEEPS_PER_INTERVAL, WINDOW_S, Finding, mean, r, recent,
                   switch_rates, was_active)

KIND = "oversubscription"
RAISE_EXTRA = 1.0  # runnable threads beyond the usable CPUs
KEEP_EXTRA = 0.5
THREADS_PER_WORKER = 1.5  # runnable threads per busy process worker that mean "a pool inside"
SATURATED = 0.9  # fallback: share of the usable CPUs the run's processes use


def _limits(snap: Snapshot) -> str:
    parts = ["%d logical" % snap.cpu.logical_cpus] if snap.cpu.logical_cpus else []
    if snap.cpu.affinity_cpus is not None and snap.cpu.affinity_cpus != snap.cpu.logical_cpus:
        parts.append("affinity %d" % snap.cpu.affinity_cpus)
    if snap.cpu.cgroup_cpu_limit is not None:
        parts.append("cgroup quota %.2g" % snap.cpu.cgroup_cpu_limit)
    return ", ".join(parts)


def _workers(mean_busy: float) -> str:
    """A count of workers as people say it: "6 workers", "about 4.6 workers".

    >>> _workers(6.0), _workers(5.96), _workers(4.6), _workers(1.0)
    ('6 workers', '6 workers', 'about 4.6 workers', '1 worker')
    """
    whole = round(mean_busy)
    if abs(mean_busy - whole) < 0.05:
        return "%d worker%s" % (whole, "" if whole == 1 else "s")
    return "about %.1f workers" % mean_busy


def oversubscription(history: Sequence[Snapshot]) -> Optional[Finding]:
    snap = history[-1]
    if snap.config.executor in ("serial", None) or not snap.workers:
        return None
    usable = snap.cpu.usable_cpus
    if not usable:
        return None
    window = recent(history, WINDOW_S)
    if len(window) < MIN_SAMPLES:
        return None
    active = was_active(history, KIND)
    need = usable + (KEEP_EXTRA if active else RAISE_EXTRA)
    is_process = uses_processes(snap.config.executor)
    evidence = {
        "usable_cpus": usable,
        "logical_cpus": snap.cpu.logical_cpus,
        "affinity_cpus": snap.cpu.affinity_cpus,
        "cgroup_cpu_limit": snap.cpu.cgroup_cpu_limit,
        "max_workers": snap.max_workers,
        "window_s": r(window[-1].t_s - window[0].t_s, 2),
    }

    # Thread workers that keep sleeping for the GIL are runnable only in
    # passing (a timed-out GIL wait queued for a CPU): they are the GIL's
    # business, not the CPUs', so they do not count as demand.
    waiters = set()
    if not is_process:
        interval = snap.interpreter.get("switch_interval_s") or DEFAULT_SWITCH_INTERVAL_S
        waiters = {k for k, rate in switch_rates(window).items() if rate >= SLEEPS_PER_INTERVAL / interval}
    rows = [s for s in window if s.workers and all(w.runnable is not None for w in s.workers)]
    if len(rows) >= MIN_SAMPLES:
        demand = mean(sum(w.runnable for w in s.workers if w.key not in waiters) for s in rows)
        busy = mean(sum(1 for w in s.workers if w.runnable and w.key not in waiters) for s in rows)
        if demand < need:
            return None
        per_busy = demand / busy if busy > 0 else 0.0
        threads = [w.threads for s in rows for w in s.workers if w.threads is not None]
        evidence.update({
            "source": "scheduler",
            "runnable_threads_mean": r(demand, 2),
            "busy_workers_mean": r(busy, 2),
            "runnable_per_busy_worker": r(per_busy, 2),
            "threads_per_worker_max": max(threads) if threads else None,
        })
        # process workers: more runnable threads than workers, or no more busy
        # workers than CPUs (then the demand past the CPUs can only come from
        # threads inside them; kept so while the alert holds on KEEP_EXTRA)
        inner = is_process and busy < need and (per_busy >= THREADS_PER_WORKER or busy <= usable)
    else:
        # No /proc: workers in the running state while the CPUs are saturated.
        busy = mean(sum(1 for w in s.workers if w.state == "running") for s in window)
        tree = mean(s.cpu.tree_percent for s in window)
        if busy < need or tree < SATURATED * usable * 100.0:
            return None
        demand, per_busy, inner = busy, 1.0, False
        evidence.update({"source": "cpu", "busy_workers_mean": r(busy, 2), "tree_cpu_percent": r(tree, 1)})

    limits = _limits(snap)
    if inner:
        evidence["case"] = "threads_in_workers"
        message = ("%.0f process workers each run ~%.1f threads at once (a BLAS/OpenMP pool inside the task): "
                   "%.1f runnable threads share %d usable CPUs (%s)"
                   % (busy, per_busy, demand, usable, limits))
        remedy = ("cap the threads inside each worker so processes x threads <= %d: set OPENBLAS_NUM_THREADS / "
                  "OMP_NUM_THREADS / MKL_NUM_THREADS (or use threadpoolctl) before the workers start, "
                  "or run fewer processes (C4)" % usable)
    else:
        evidence["case"] = "workers"
        threads = " (~%.1f threads each)" % per_busy if per_busy >= THREADS_PER_WORKER else ""
        message = ("%s%s want a CPU at once but only %d are usable (%s): they queue for the CPUs "
                   "and each runs at about %.0f%% speed"
                   % (_workers(busy), threads, usable, limits, 100.0 * usable / demand))
        remedy = ("size the pool to the usable CPUs (max_workers=%d here): os.process_cpu_count() (3.13+) "
                  "follows the affinity mask but not a cgroup quota, so in containers size it from the quota "
                  "(C4)" % usable)
    since = window[0].t_s
    return Finding(KIND, "warning", message, remedy, evidence, "cores", since)
