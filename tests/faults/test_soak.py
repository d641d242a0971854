"""Long sessions stay bounded: the two-minute version of benchmarks/soak.py."""

from __future__ import annotations

import pytest

from benchmarks.soak import soak


@pytest.mark.slow
def test_two_minute_soak_keeps_memory_bounded_and_leaves_nothing():
    result = soak(minutes=2.0, restart_s=10.0)
    assert result["runs"] >= 8
    assert result["snapshots"] > 500
    assert result["leftover_processes"] == 0
    assert result["growth_mb"] <= 20, result


def test_timeline_and_alert_log_are_bounded():
    from execscope.detect import AlertBook, Finding
    from execscope.session import Timeline
    from execscope.model import RunConfig, Snapshot

    timeline = Timeline(limit=100)
    snap = Snapshot(config=RunConfig("cpu"), t_s=0.0)
    for _ in range(10_000):
        timeline.add(snap)
    assert len(timeline.points) <= 101 and timeline.stride > 1
    book = AlertBook(limit=50)
    for i in range(1000):
        # a condition that comes and goes raises a new alert each time
        book.update([Finding("starvation", "critical", "m", "r")] if i % 2 else [], float(i))
    assert len(book.alerts()) <= 50
