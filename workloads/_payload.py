"""The data that pickle_heavy sends and shared_memory shares: the same floats."""

from __future__ import annotations

import array

STRIDE = 1000


def float_count(mb: float) -> int:
    return max(1, int(mb * 1024 * 1024) // 8)


def make_floats(mb: float) -> "array.array":
    n = float_count(mb)
    return array.array("d", (k * 0.5 for k in range(n)))


def tiny_compute(values) -> float:
    """The little work done per task: touch every STRIDE-th value."""
    return float(sum(values[::STRIDE]))
