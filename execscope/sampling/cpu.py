"""CPU from outside the run, with psutil: read, wait, read again, show the difference.

Per logical core (the whole machine), the runner's process tree (runner,
pool workers, fork server, any grandchildren) per process and, inside the
runner, per thread (thread-pool workers are threads: their CPU is the clearest
sign of who computes and who waits).

    >>> import os, psutil
    >>> sampler = CpuSampler()
    >>> sampler.attach(os.getpid())            # the runner's pid, in a session
    >>> first = sampler.sample()               # the first call primes the counters
    >>> reading = sampler.sample()             # e.g. per_core (97.0, 12.5), tree_percent 101.3
    >>> len(reading.per_core) == psutil.cpu_count(), os.getpid() in reading.per_pid
    (True, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import psutil


# Kernel CPU counters move in clock ticks (usually 10 ms): a difference over
# less than this much time per core is mostly rounding, so the previous
# reading stands until enough time has passed (a late tick, then a quick one).
MIN_SPAN_S = 0.05


def busy_idle(times: Any) -> Tuple[float, float]:
    """(busy, idle) seconds of one core from a ``cpu_times`` tuple."""
    total = sum(times)
    idle = sum(getattr(times, name, 0.0) for name in ("idle", "iowait"))
    # guest time is already counted in user time on Linux
    total -= sum(getattr(times, name, 0.0) for name in ("guest", "guest_nice"))
    return total - idle, idle


def core_percents(before: Sequence[Tuple[float, float]], after: Sequence[Tuple[float, float]]
                  ) -> Optional[List[float]]:
    """Busy percent of each core between two (busy, idle) readings; None when
    too little time passed to tell (or the core count changed)."""
    if len(before) != len(after) or not after:
        return None
    out = []
    for (b0, i0), (b1, i1) in zip(before, after):
        busy, idle = max(0.0, b1 - b0), max(0.0, i1 - i0)
        span = busy + idle
        if span < MIN_SPAN_S:
            return None
        out.append(round(min(100.0, 100.0 * busy / span), 1))
    return out


@dataclass(frozen=True)
class CpuReading:
    per_core: Tuple[float, ...] = ()
    total_percent: float = 0.0
    tree_percent: float = 0.0
    per_pid: Dict[int, float] = field(default_factory=dict)
    per_tid: Dict[int, float] = field(default_factory=dict)
    tree_pids: Tuple[int, ...] = ()
    tree_rss_bytes: int = 0
    tree_uss_bytes: Optional[int] = None


class CpuSampler:
    def __init__(self, memory_every_s: float = 1.0, clock=time.monotonic) -> None:
        self.clock = clock
        self.root: Optional[psutil.Process] = None
        self._procs: Dict[int, psutil.Process] = {}
        self._last_pid: Optional[int] = None  # the kernel's last pid at the last tree search
        self._thread_times: Dict[int, float] = {}
        self._thread_t = 0.0
        self._memory_every_s = memory_every_s
        self._memory_t = -1e9
        self._uss: Optional[int] = None
        self.peak_rss = 0
        self.peak_uss: Optional[int] = None
        self._core_times = self._read_cores()
        self._per_core: Tuple[float, ...] = tuple(0.0 for _ in self._core_times)

    @staticmethod
    def _read_cores() -> List[Tuple[float, float]]:
        times = psutil.cpu_times(percpu=True)
        return [busy_idle(t) for t in times]

    def _cores(self) -> Tuple[float, ...]:
        """Per-core percent since the last reading that was long enough to tell."""
        now = self._read_cores()
        percents = core_percents(self._core_times, now)
        if percents is not None:
            self._per_core, self._core_times = tuple(percents), now
        elif len(now) != len(self._core_times):  # a CPU went on or off line
            self._core_times, self._per_core = now, tuple(0.0 for _ in now)
        return self._per_core

    def attach(self, pid: int) -> None:
        try:
            self.root = psutil.Process(pid)
        except psutil.Error:
            self.root = None
        self._procs = {}
        self._thread_times = {}
        self._last_pid = None

    def _tree(self) -> Dict[int, psutil.Process]:
        if self.root is None:
            return {}
        # Finding the tree reads every process's /proc stat (psutil's
        # children()): most of what a tick costs.  When no process at all was
        # created since the last search (the kernel's last pid is the same)
        # the tree can only have lost members: keep it, minus those gone.
        last = last_pid()
        if last is not None and last == self._last_pid and self.root.pid in self._procs:
            members = list(self._procs.values())
        else:
            try:
                members = [self.root] + self.root.children(recursive=True)
            except psutil.Error:
                return {}
            self._last_pid = last
        current = {}
        for proc in members:
            known = self._procs.get(proc.pid)
            if known is not None and known.is_running():
                current[proc.pid] = known
            else:
                try:
                    proc.cpu_percent(None)  # prime: the first reading is meaningless
                except psutil.Error:  # a short-lived child already gone
                    continue
                current[proc.pid] = proc
        self._procs = current
        return current

    def sample(self) -> CpuReading:
        per_core = self._cores()
        total = sum(per_core) / len(per_core) if per_core else 0.0
        per_pid: Dict[int, float] = {}
        rss = 0
        for pid, proc in self._tree().items():
            try:
                with proc.oneshot():
                    per_pid[pid] = proc.cpu_percent(None)
                    rss += proc.memory_info().rss
            except psutil.Error:
                continue
        self.peak_rss = max(self.peak_rss, rss)
        now = self.clock()
        if now - self._memory_t >= self._memory_every_s:
            self._memory_t = now
            self._uss = self._tree_uss()
            if self._uss is not None:
                self.peak_uss = max(self.peak_uss or 0, self._uss)
        return CpuReading(
            per_core=per_core,
            total_percent=total,
            tree_percent=sum(per_pid.values()),
            per_pid=per_pid,
            per_tid=self._threads(),
            tree_pids=tuple(per_pid),
            tree_rss_bytes=rss,
            tree_uss_bytes=self._uss,
        )

    def _tree_uss(self) -> Optional[int]:
        """Unique set size of the tree: what the run really costs in memory."""
        total = 0
        for proc in list(self._procs.values()):
            try:
                total += proc.memory_full_info().uss
            except (psutil.Error, AttributeError):
                return None
        return total

    def _threads(self) -> Dict[int, float]:
        """CPU percent of each thread of the runner process since the last call."""
        if self.root is None:
            return {}
        try:
            threads = self.root.threads()
        except psutil.Error:
            return {}
        now = self.clock()
        elapsed = now - self._thread_t
        previous, self._thread_times, self._thread_t = self._thread_times, {}, now
        out = {}
        for th in threads:
            spent = th.user_time + th.system_time
            self._thread_times[th.id] = spent
            if th.id in previous and elapsed > 0:
                out[th.id] = max(0.0, (spent - previous[th.id]) / elapsed * 100.0)
        return out


def last_pid() -> Optional[int]:
    """The last process id the kernel handed out (in our pid namespace), from
    ``/proc/loadavg``; None where there is no such file."""
    try:
        with open("/proc/loadavg", "rb") as fh:
            return int(fh.read().split()[-1])
    except (OSError, ValueError, IndexError):
        return None
