"""Pure arithmetic that turns py-spy sample counts into GIL shares per thread.

The sampler (``gil.py``) produces two kinds of ``ProcChunk`` per process:

- from a native-stacks round, ``stacks``: per native thread id, the samples by
  shape (``pyspy.classify``: wait, idle, held, released, or ext: inside an
  extension, GIL unknown).  Every Python thread is in every sample;
- from a GIL-holder round (``--gil``), ``held``: per thread, the samples in
  which py-spy saw it holding the GIL, out of about ``held_intervals``.
  py-spy samples at exponentially distributed times (against aliasing), so a
  round's number of intervals is known on average only (rate x time): the
  share is unbiased but noisy (about 1/sqrt(intervals)).  ``idle_share`` is
  the runner's own view of a process worker (waiting for a task or not).

``Accumulator`` sums chunks (a window, or the whole run) and yields one
``GilThread`` per thread, with shares that add up to 1::

    held      py-spy's GIL-holder flag (the stacks' own count where there is no flag)
    wait      its native stack was in the GIL's wait
    idle      a pool worker waiting for its next task
    released  the rest: C code without the GIL, sleeping, I/O, locks

The flag and the stacks come from two samplers side by side, so their sum can
exceed 1 by sampling noise: the flag is kept and wait/idle are scaled into
what is left.  A process without stacks has a single Python thread, which
cannot wait for its GIL: wait is 0 and idle is the runner's view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ..model import GilThread
from .pyspy import StackCounts


PID_MAX = 1 << 22  # Linux's largest pid / thread id; a pthread id (an address) is far above


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

    def python_threads(self) -> int:
        tids = set(self.stacks or ()) | {t for t, n in (self.held or {}).items() if n}
        return len(tids)


@dataclass
class _Sums:
    name: str = ""
    stack_samples: int = 0
    wait: int = 0
    idle: int = 0
    stack_held: int = 0
    held: int = 0
    idle_weighted: float = 0.0  # idle_share x intervals (processes without stacks)
    idle_weight: float = 0.0
    first_seen: float = 0.0


class Accumulator:
    """Sums of ``ProcChunk`` counts per (pid, tid)."""

    def __init__(self, skip_prefixes: Tuple[str, ...] = ()) -> None:
        self.skip_prefixes = skip_prefixes  # threads not to report (execscope's own)
        self.sums: Dict[Tuple[int, int], _Sums] = {}
        self.held_intervals: Dict[int, float] = {}  # per pid
        self.span_s: Dict[int, float] = {}  # seconds of GIL-holder rounds per pid

    def add(self, chunk: ProcChunk) -> None:
        if chunk.stacks is not None:
            tids = set(chunk.stacks)  # every Python thread, at every sample
        else:
            tids = {t for t, n in (chunk.held or {}).items() if n}
            tids.add(chunk.pid)  # a worker's main thread, even while it never held the GIL
        if chunk.held is not None:
            self.span_s[chunk.pid] = self.span_s.get(chunk.pid, 0.0) + max(0.0, chunk.t1 - chunk.t0)
            self.held_intervals[chunk.pid] = self.held_intervals.get(chunk.pid, 0.0) + chunk.held_intervals
        for tid in tids:
            s = chunk.stacks.get(tid) if chunk.stacks else None
            name = (s.name if s and s.name else "") or chunk.names.get(tid, "") \
                or ("MainThread" if tid == chunk.pid else "")
            if self.skip_prefixes and name.startswith(self.skip_prefixes):
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
                acc.stack_held += s.held
            if chunk.held is not None:
                acc.held += chunk.held.get(tid, 0)
                if chunk.idle_share is not None:
                    acc.idle_weighted += chunk.idle_share * chunk.held_intervals
                    acc.idle_weight += chunk.held_intervals

    @property
    def samples(self) -> int:
        stacks = sum(s.stack_samples for s in self.sums.values())
        return stacks + int(round(sum(self.held_intervals.values())))

    def threads(self, pid_order: Optional[List[int]] = None,
                known: Optional[Dict[Tuple[int, str], int]] = None) -> Tuple[GilThread, ...]:
        """One GilThread per thread: processes in ``pid_order`` (others after,
        by pid), each process's main thread first (the session maps a process
        worker's row onto the first thread of its pid).  ``known``: native ids
        by (pid, thread name), from elsewhere (the runner's worker rows)."""
        sums = self._by_native_id(known or {})
        order = {pid: i for i, pid in enumerate(pid_order or [])}
        keys = sorted(sums, key=lambda k: (order.get(k[0], len(order)), k[0], k[1] != k[0],
                                            sums[k].first_seen, k[1]))
        out = []
        for pid, tid in keys:
            thread = shares(sums[(pid, tid)], pid, tid, self.held_intervals.get(pid, 0.0))
            if thread is not None:
                out.append(thread)
        return tuple(out)

    def _by_native_id(self, known: Dict[Tuple[int, str], int]) -> Dict[Tuple[int, int], _Sums]:
        """Before 3.11 a thread state does not hold its native id, and py-spy
        reading without pausing reports the pthread id instead
        (``thread (0x7F...)``): fold such a thread into the one of the same
        name with a native id (the native stacks find those), MainThread into
        the pid."""
        if all(tid <= PID_MAX for _, tid in self.sums):
            return self.sums
        names: Dict[Tuple[int, str], int] = dict(known)
        for (pid, tid), s in self.sums.items():
            if tid <= PID_MAX and s.name:
                names[(pid, s.name)] = tid
        out: Dict[Tuple[int, int], _Sums] = {k: v for k, v in self.sums.items() if k[1] <= PID_MAX}
        for (pid, tid), s in self.sums.items():
            if tid <= PID_MAX:
                continue
            native = pid if s.name == "MainThread" else names.get((pid, s.name))
            if native is None:
                out[(pid, tid)] = s
                continue
            into = out.get((pid, native))
            if into is None:
                out[(pid, native)] = s
                continue
            merged = _Sums(name=into.name or s.name, first_seen=min(into.first_seen, s.first_seen))
            for attr in ("stack_samples", "wait", "idle", "stack_held", "held", "idle_weighted", "idle_weight"):
                setattr(merged, attr, getattr(into, attr) + getattr(s, attr))
            out[(pid, native)] = merged
        return out


def shares(s: _Sums, pid: int, tid: int, held_intervals: float) -> Optional[GilThread]:
    if s.stack_samples == 0 and held_intervals <= 0:
        return None
    flagged = min(1.0, s.held / held_intervals) if held_intervals > 0 else None
    if s.stack_samples:
        n = s.stack_samples
        wait, idle = s.wait / n, s.idle / n
        held = flagged if flagged is not None else s.stack_held / n
        samples = n
    else:
        wait = 0.0  # one Python thread: nobody to wait for
        idle = s.idle_weighted / s.idle_weight if s.idle_weight > 0 else 0.0
        held = flagged or 0.0
        samples = int(round(held_intervals))
    wait_range = wilson(s.wait, s.stack_samples) if s.stack_samples else None
    room = 1.0 - held
    if wait + idle > room:
        scale = room / (wait + idle)
        wait, idle = wait * scale, idle * scale
        if wait_range is not None:
            wait_range = (wait_range[0] * scale, wait_range[1] * scale)
    released = max(0.0, 1.0 - held - wait - idle)
    return GilThread(name=s.name or "thread %d" % tid, pid=pid, tid=tid, held=held, wait=wait,
                     released=released, idle=idle, samples=samples, wait_range=wait_range)


Z95 = 1.96


def wilson(hits: int, n: int, z: float = Z95) -> Tuple[float, float]:
    """The 95% interval of a share seen in ``hits`` of ``n`` independent
    samples (Wilson's score interval: right at 0 and 1 too).  Native stacks
    come at most STACKS_HZ a second, far apart against the 5 ms switch
    interval, so each is an independent look at the thread: a worker's wait
    from 37 samples (a 4 s run at 10 Hz) is +-0.14 at 0.67, from 92 +-0.09.

    >>> [round(x, 3) for x in wilson(25, 37)]
    [0.515, 0.804]
    >>> wilson(0, 0)
    (0.0, 1.0)
    """
    if n <= 0:
        return 0.0, 1.0
    p = hits / n
    z2n = z * z / n
    center = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / n + z2n / (4 * n))
    return max(0.0, center - half), min(1.0, center + half)


def margin(threads: Sequence[GilThread]) -> Optional[float]:
    """The widest half-interval of the threads' wait (None: none sampled)."""
    halves = [(t.wait_range[1] - t.wait_range[0]) / 2 for t in threads if t.wait_range is not None]
    return max(halves) if halves else None


def margin_note(threads: Sequence[GilThread]) -> str:
    """``wait +-0.14 per thread (95%, from 37 samples)`` for a view's reason, "" when under 0.02."""
    widest = margin(threads)
    if widest is None or widest < 0.02:
        return ""
    fewest = min(t.samples for t in threads if t.wait_range is not None)
    return "wait \u00b1%.2f per thread (95%%, from %d samples)" % (widest, fewest)
