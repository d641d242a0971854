"""The runner's Tracker used directly: its own end-of-run signal."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from execscope.runner import instrument


def test_thread_pool_tracker_sees_its_end_without_being_polled():
    """The last task to finish sets all_done itself, so the run's wall time
    ends when its work does, not at the poll loop's next tick.  Here half the
    tasks finish before submission is closed and half after."""
    gate = threading.Event()

    def task(i: int) -> int:
        if i % 2:
            gate.wait(10)
        return i

    with ThreadPoolExecutor(8) as ex:
        tracker = instrument.Tracker(ex, "thread", None, deliver_results=False)
        for i in range(8):
            tracker.submit(task, i)
        deadline = time.monotonic() + 10
        while tracker.finished < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        tracker.close_submission()
        assert not tracker.all_done.is_set()
        gate.set()
        assert tracker.all_done.wait(5), (tracker.finished, tracker.submitted)
    assert tracker.finished == 8 and tracker.failed == 0
