"""Per-core CPU from kernel counters: the pure difference, and a real reading."""

import subprocess
import sys
import time

from execscope.sampling.cpu import MIN_SPAN_S, CpuSampler, core_percents


def test_core_percents_are_busy_over_busy_plus_idle():
    before = [(10.0, 10.0), (5.0, 0.0)]
    after = [(10.5, 10.5), (5.1, 0.9)]
    assert core_percents(before, after) == [50.0, 10.0]


def test_too_short_a_span_tells_nothing():
    """Two readings a few milliseconds apart (a late tick, then a quick one)
    would show 0 % or 100 % from one clock tick: no answer instead."""
    before = [(10.0, 10.0)]
    assert core_percents(before, [(10.0 + MIN_SPAN_S / 2, 10.0)]) is None
    assert core_percents(before, [(10.0, 10.0)]) is None


def test_core_count_change_or_counters_going_back():
    assert core_percents([(1.0, 1.0)], [(2.0, 2.0), (1.0, 1.0)]) is None
    assert core_percents([(5.0, 5.0)], [(4.0, 6.0)]) == [0.0]


def test_a_spinning_child_shows_as_one_busy_core():
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        sampler = CpuSampler()
        sampler.attach(child.pid)
        time.sleep(0.3)
        sampler.sample()
        readings = []
        for _ in range(5):
            time.sleep(0.2)
            readings.append(sampler.sample())
    finally:
        child.kill()
        child.wait()
    # the child may move between cores: their sum holds at least its one core
    assert all(sum(r.per_core) >= 60.0 for r in readings), [r.per_core for r in readings]
    assert all(r.tree_percent >= 60.0 for r in readings), [r.tree_percent for r in readings]
