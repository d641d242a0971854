"""Metric maths: pure functions and small accumulators, no processes, no I/O.

    >>> h = LatencyHistogram()
    >>> for ms in range(1, 101):
    ...     h.add(ms / 1000)
    >>> round(h.percentile(0.5) * 1000)
    50
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .model import Breakdown
from .protocol import BREAKDOWN_FIELDS, HIST_BASE, HIST_LOW, TOTALS_FIELDS, latency_bucket


class LatencyHistogram:
    """Log-spaced buckets (2% wide, see protocol.latency_bucket) from 100 ns up:
    bounded memory, percentiles within 1% of the true value."""

    def __init__(self, counts: Optional[Dict[int, int]] = None) -> None:
        self.counts: Dict[int, int] = dict(counts or {})
        self.n = sum(self.counts.values())

    def add(self, value: float, count: int = 1) -> None:
        b = latency_bucket(value)
        self.counts[b] = self.counts.get(b, 0) + count
        self.n += count

    @staticmethod
    def _value(bucket: int) -> float:
        if bucket == 0:
            return 0.0
        # geometric middle of the bucket
        return HIST_LOW * HIST_BASE ** (bucket - 0.5)

    def percentile(self, q: float) -> float:
        if self.n == 0:
            return 0.0
        rank = q * self.n
        seen = 0
        last = 0
        for bucket in sorted(self.counts):
            seen += self.counts[bucket]
            last = bucket
            if seen >= rank:
                break
        return self._value(last)

    def percentiles(self) -> Tuple[float, float, float]:
        return (self.percentile(0.5), self.percentile(0.95), self.percentile(0.99))


class TaskTotals:
    """The runner's cumulative task totals (protocol.TOTALS_FIELDS), read side."""

    def __init__(self, data: Optional[Dict] = None) -> None:
        data = data or {}
        self.values = {name: data.get(name, 0) for name in TOTALS_FIELDS}
        self.latency = LatencyHistogram({int(k): v for k, v in (data.get("hist") or {}).items()})

    @property
    def items(self) -> int:
        return int(self.values["items"])

    @property
    def bytes_out(self) -> int:
        return int(self.values["bytes_out"])

    @property
    def bytes_in(self) -> int:
        return int(self.values["bytes_in"])

    def _time(self, name: str) -> Optional[float]:
        value = self.values[name]
        return float(value) if value else None

    @property
    def first_submit(self) -> Optional[float]:
        return self._time("first_submit")

    @property
    def first_begin(self) -> Optional[float]:
        return self._time("first_begin")

    @property
    def last_end(self) -> Optional[float]:
        return self._time("last_end")

    def breakdown(self) -> Breakdown:
        n = self.items
        if not n:
            return Breakdown()
        means = {name: self.values[name] / n for name in BREAKDOWN_FIELDS}
        return Breakdown(bytes_out=self.bytes_out / n, bytes_in=self.bytes_in / n, tasks=n, **means)


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
