"""Metric maths: pure functions and small accumulators, no processes, no I/O.

    >>> h = LatencyHistogram()
    >>> for ms in range(1, 101):
    ...     h.add(ms / 1000)
    >>> round(h.percentile(0.5) * 1000)
    50
"""

from __future__ import annotations

import math
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .model import Breakdown
from .protocol import BREAKDOWN_FIELDS, TASK_INDEX

_I = TASK_INDEX


class LatencyHistogram:
    """Log-spaced buckets (2% wide) from 100 ns to ~1 day: bounded memory,
    percentiles within 1% of the true value."""

    BASE = 1.02
    LOW = 1e-7

    def __init__(self) -> None:
        self.counts: Dict[int, int] = {}
        self.n = 0
        self.max = 0.0

    def _bucket(self, value: float) -> int:
        if value <= self.LOW:
            return 0
        return int(math.log(value / self.LOW, self.BASE)) + 1

    def _value(self, bucket: int) -> float:
        if bucket == 0:
            return 0.0
        # geometric middle of [LOW*B^(k-1), LOW*B^k)
        return self.LOW * self.BASE ** (bucket - 0.5)

    def add(self, value: float, count: int = 1) -> None:
        b = self._bucket(value)
        self.counts[b] = self.counts.get(b, 0) + count
        self.n += count
        if value > self.max:
            self.max = value

    def percentile(self, q: float) -> float:
        if self.n == 0:
            return 0.0
        rank = q * self.n
        seen = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            if seen >= rank:
                return min(self._value(bucket), self.max)
        return self.max

    def percentiles(self) -> Tuple[float, float, float]:
        return (self.percentile(0.5), self.percentile(0.95), self.percentile(0.99))


class TaskTotals:
    """Running sums over finished task records (protocol.TASK_FIELDS).

    A record may stand for a map chunk of ``items`` tasks: its queue wait
    applies to each item, every other phase is shared among them.
    """

    def __init__(self) -> None:
        self.sums = {name: 0.0 for name in BREAKDOWN_FIELDS}
        self.items = 0
        self.records = 0
        self.bytes_out = 0
        self.bytes_in = 0
        self.latency = LatencyHistogram()
        self.first_begin: Optional[float] = None
        self.first_submit: Optional[float] = None
        self.last_end: Optional[float] = None

    def add(self, record: Sequence) -> None:
        items = int(record[_I["items"]]) or 1
        self.items += items
        self.records += 1
        for name in BREAKDOWN_FIELDS:
            value = float(record[_I[name]])
            self.sums[name] += value * items if name == "queue" else value
        self.bytes_out += int(record[_I["bytes_out"]])
        self.bytes_in += int(record[_I["bytes_in"]])
        t_submit, t_begin, t_end = record[_I["t_submit"]], record[_I["t_begin"]], record[_I["t_end"]]
        self.latency.add(max(0.0, t_end - t_submit), items)
        if self.first_begin is None or t_begin < self.first_begin:
            self.first_begin = t_begin
        if self.first_submit is None or t_submit < self.first_submit:
            self.first_submit = t_submit
        if self.last_end is None or t_end > self.last_end:
            self.last_end = t_end

    def breakdown(self) -> Breakdown:
        if not self.items:
            return Breakdown()
        n = float(self.items)
        means = {name: self.sums[name] / n for name in BREAKDOWN_FIELDS}
        return Breakdown(bytes_out=self.bytes_out / n, bytes_in=self.bytes_in / n, tasks=self.items, **means)


def windowed_rate(points: Iterable[Tuple[float, int]], now: float, window_s: float = 1.0) -> float:
    """Events per second over the last ``window_s``, from (t, cumulative count) points.

    >>> windowed_rate([(0.0, 0), (0.5, 5), (1.0, 10), (1.5, 20)], now=1.5)
    15.0
    """
    pts = list(points)
    if len(pts) < 2:
        return 0.0
    t_last, c_last = pts[-1]
    start = None
    for t, c in reversed(pts):
        start = (t, c)
        if now - t >= window_s:
            break
    t0, c0 = start
    if t_last <= t0:
        return 0.0
    return (c_last - c0) / (t_last - t0)


def share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else 0.0


def speedup(baseline_wall_s: float, wall_s: float) -> Optional[float]:
    """How many times faster than the baseline (2.0 = twice as fast)."""
    if baseline_wall_s <= 0 or wall_s <= 0:
        return None
    return baseline_wall_s / wall_s


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def spark(values: Sequence[float], width: int, top: Optional[float] = None) -> str:
    """Unicode sparkline of the last ``width`` values (the TUI and text reports).

    >>> spark([0, 1, 2, 3], 4)
    ' ▃▅█'
    """
    bars = " ▁▂▃▄▅▆▇█"
    tail = list(values)[-width:]
    if not tail:
        return ""
    high = top if top else max(tail)
    if high <= 0:
        return bars[0] * len(tail)
    return "".join(bars[min(8, max(0, int(round(v / high * 8))))] for v in tail)


def downsample(points: List, limit: int) -> List:
    """Keep every other point once ``limit`` is exceeded (timelines stay bounded)."""
    if len(points) <= limit:
        return points
    return points[::2]
