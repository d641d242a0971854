"""Pure arithmetic that turns py-spy sample counts into GIL shares per thread.

One sampling round of one process gives a ``ProcChunk``:

- ``stacks``: per native thread id, the native-stack samples and how many of
  them had the GIL-wait or the waiting-for-work shape (``pyspy.classify``);
  absent for processes with one Python thread, which cannot wait for a GIL;
- ``held``: per thread, the samples in which py-spy saw it holding the GIL,
  out of ``held_intervals`` sampling intervals (a second, non-pausing py-spy
  run with ``--gil`` that records only the holder);
- ``idle_share``: for processes sampled without stacks, the share of the
  round the runner reported the worker idle (waiting for a task).

``Accumulator`` sums chunks (a window, or the whole run) and yields one
``GilThread`` per thread, with shares that add up to 1::

    held      py-spy saw it holding the GIL
    wait      its native stack was in the GIL's wait
    idle      a pool worker waiting for its next task
    released  the rest: running C code without the GIL, sleeping, I/O, locks

``held`` and the stack shapes come from two samplers running side by side, so
over a short window their sum can exceed 1 by sampling noise: ``held`` is
kept (it is py-spy's own flag) and wait/idle are scaled into what is left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..model import GilThread
from .pyspy import StackCounts


@dataclass
class ProcChunk:
    pid: int
    t0: float  # sampling began (monotonic)
    t1: float  # sampling ended
    stacks: Optional[Dict[int, StackCounts]] = None
    held: Optional[Dict[int, int]] = None
    held_intervals: float = 0.0
    idle_share: Optional[float] = None
    names: Dict[int, str] = field(default_factory=dict)

    @property
    def stack_intervals(self) -> int:
        return max((s.total for s in self.stacks.values()), default=0) if self.stacks else 0

    def python_threads(self) -> int:
        tids = set(self.stacks or ()) | {t for t, n in (self.held or {}).items() if n}
        return len(tids)


@dataclass
class _Sums:
    name: str = ""
    stack_samples: int = 0
    wait: int = 0
    idle: int = 0
    held: float = 0.0
    held_intervals: float = 0.0
    idle_weighted: float = 0.0  # idle_share x intervals, processes without stacks
    idle_weight: float = 0.0
    first_seen: float = 0.0


class Accumulator:
    """Sums of ``ProcChunk`` counts per (pid, tid)."""

    def __init__(self, skip_names: Tuple[str, ...] = ()) -> None:
        self.skip_names = skip_names
        self.sums: Dict[Tuple[int, int], _Sums] = {}
        self.span_s: Dict[int, float] = {}  # seconds sampled per pid

    def add(self, chunk: ProcChunk) -> None:
        self.span_s[chunk.pid] = self.span_s.get(chunk.pid, 0.0) + max(0.0, chunk.t1 - chunk.t0)
        stacks = chunk.stacks
        b_int = chunk.stack_intervals
        tids = set(stacks or ())
        if chunk.held is not None:
            tids |= {t for t, n in chunk.held.items() if n}
            if stacks is None:
                tids.add(chunk.pid)  # a worker's main thread, even while it never held the GIL
        for tid in tids:
            s = stacks.get(tid) if stacks else None
            name = (s.name if s and s.name else "") or chunk.names.get(tid, "") \
                or ("MainThread" if tid == chunk.pid else "")
            if name in self.skip_names:
                continue
            acc = self.sums.get((chunk.pid, tid))
            if acc is None:
                acc = self.sums[(chunk.pid, tid)] = _Sums(name=name, first_seen=chunk.t0)
            elif name and not acc.name:
                acc.name = name
            if s is not None:
                acc.stack_samples += s.total
                acc.wait += s.wait
                acc.idle += s.idle
            if chunk.held is not None and chunk.held_intervals > 0:
                # A thread that lived for part of the round shares its intervals.
                alive = (s.total / b_int) if (s is not None and b_int) else 1.0
                acc.held += chunk.held.get(tid, 0)
                acc.held_intervals += chunk.held_intervals * alive
            if stacks is None and chunk.idle_share is not None:
                acc.idle_weighted += chunk.idle_share * chunk.held_intervals
                acc.idle_weight += chunk.held_intervals

    def merge(self, other: "Accumulator") -> None:
        for key, s in other.sums.items():
            acc = self.sums.setdefault(key, _Sums(name=s.name, first_seen=s.first_seen))
            acc.stack_samples += s.stack_samples
            acc.wait += s.wait
            acc.idle += s.idle
            acc.held += s.held
            acc.held_intervals += s.held_intervals
            acc.idle_weighted += s.idle_weighted
            acc.idle_weight += s.idle_weight
        for pid, span in other.span_s.items():
            self.span_s[pid] = self.span_s.get(pid, 0.0) + span

    @property
    def samples(self) -> int:
        return sum(max(s.stack_samples, int(round(s.held_intervals))) for s in self.sums.values())

    def threads(self, pid_order: Optional[List[int]] = None) -> Tuple[GilThread, ...]:
        """One GilThread per thread: processes in ``pid_order`` (others after,
        by pid), each process's main thread first (the session maps a process
        worker's row onto the first thread of its pid)."""
        order = {pid: i for i, pid in enumerate(pid_order or [])}
        keys = sorted(self.sums, key=lambda k: (order.get(k[0], len(order)), k[0], k[1] != k[0],
                                                 self.sums[k].first_seen, k[1]))
        out = []
        for pid, tid in keys:
            thread = shares(self.sums[(pid, tid)], pid, tid)
            if thread is not None:
                out.append(thread)
        return tuple(out)


def shares(s: _Sums, pid: int, tid: int) -> Optional[GilThread]:
    if s.stack_samples == 0 and s.held_intervals <= 0:
        return None
    held = min(1.0, s.held / s.held_intervals) if s.held_intervals > 0 else 0.0
    if s.stack_samples:
        wait = s.wait / s.stack_samples
        idle = s.idle / s.stack_samples
        samples = s.stack_samples
    else:
        wait = 0.0  # one Python thread: nobody to wait for
        idle = s.idle_weighted / s.idle_weight if s.idle_weight > 0 else 0.0
        samples = int(round(s.held_intervals))
    room = 1.0 - held
    if wait + idle > room:
        scale = room / (wait + idle)
        wait, idle = wait * scale, idle * scale
    released = max(0.0, 1.0 - held - wait - idle)
    return GilThread(name=s.name or "thread %d" % tid, pid=pid, tid=tid, held=held, wait=wait,
                     released=released, idle=idle, samples=samples)
