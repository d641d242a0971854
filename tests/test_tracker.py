"""The runner's Tracker used directly: its own end-of-run signal."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import pytest

from execscope.protocol import WORKER_INDEX
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


# -- thread pools time a sample of their tasks and count the rest bare --------------------------

def _quick(i: int) -> int:
    if i % 97 == 13:
        raise ValueError("task %d says no" % i)
    return i


def test_bare_tasks_are_counted_exactly_with_their_failures():
    n = 3000
    with ThreadPoolExecutor(4) as ex:
        tracker = instrument.Tracker(ex, "thread", None, deliver_results=False)
        futures = [tracker.submit(_quick, i) for i in range(n)]
        tracker.close_submission()
        _until_done(tracker)
        totals, state, own, errors = tracker.totals(), tracker.poll(), tracker.own_cost(), tracker.drain_errors()
    failing = sum(1 for i in range(n) if i % 97 == 13)
    assert own["phases_timed"] < n / 4 and own["calls"] == n  # most tasks went bare
    assert (totals["items"], totals["records"], totals["failed"]) == (n, n, failing)
    assert (state["submitted"], state["completed"], state["failed"]) == (n, n - failing, failing)
    assert len(errors) == instrument.MAX_REPORTED_ERRORS and all("says no" in e["message"] for e in errors)
    assert all("Traceback" in e["traceback"] for e in errors)
    # the caller's futures are the executor's own: results and exceptions as without execscope
    assert [f.exception() is not None for f in futures] == [i % 97 == 13 for i in range(n)]
    # a worker's done count is the weights of the timed tasks it ran: near the whole
    done = sum(row[WORKER_INDEX["done"]] for row in state["workers"])
    assert 0.9 * n <= done <= n
    assert totals["compute"] > 0 and totals["queue"] >= 0


def _until_done(tracker: instrument.Tracker) -> None:
    """Check as the runner's tick does: a task other than the last ones
    submitted may be the last to finish, and only a check sees that."""
    deadline = time.monotonic() + 30
    while not tracker.check_done():
        assert time.monotonic() < deadline, (tracker.finished, tracker.submitted)
        time.sleep(0.01)


def _bare_tracker(ex: ThreadPoolExecutor) -> instrument.Tracker:
    """A tracker past its first timed tasks whose next ones all go bare."""
    tracker = instrument.Tracker(ex, "thread", None, deliver_results=False, timed_every=10 ** 6)
    wait([tracker.submit(_quick, 1) for _ in range(instrument.TIMED_FIRST)])
    return tracker


def test_a_worker_running_a_bare_task_shows_it_and_what_it_waits_for():
    gate = threading.Event()
    with ThreadPoolExecutor(2) as ex:
        tracker = _bare_tracker(ex)
        inner = tracker.submit(gate.wait, 10)
        outer = tracker.submit(lambda: inner.result(10))
        bare_ids = {inner._execscope_task, outer._execscope_task}
        assert not bare_ids & {-1} and max(bare_ids) >= instrument.TIMED_FIRST
        assert {id(f) for f in tracker._bare} >= {id(inner), id(outer)}  # neither was timed
        deadline = time.monotonic() + 5
        rows = []
        while time.monotonic() < deadline:
            rows = tracker.poll()["workers"]
            states = sorted(row[WORKER_INDEX["state"]] for row in rows)
            if states == ["blocked", "running"]:
                break
            time.sleep(0.01)
        by_state = {row[WORKER_INDEX["state"]]: row for row in rows}
        assert set(by_state) == {"blocked", "running"}, rows
        assert by_state["running"][WORKER_INDEX["task"]] == inner._execscope_task
        assert by_state["blocked"][WORKER_INDEX["task"]] == outer._execscope_task
        assert by_state["blocked"][WORKER_INDEX["blocked_on"]] == inner._execscope_task
        assert by_state["running"][WORKER_INDEX["since"]] > 0
        gate.set()
        assert outer.result(5) is True
        tracker.close_submission()
        _until_done(tracker)
    assert tracker.finished == tracker.submitted == instrument.TIMED_FIRST + 2


def test_the_end_of_a_bare_tail_is_its_last_task_not_the_next_sweep():
    """The last tasks of a run are handed a done callback at close: the
    run ends when they do (all_done at once, last_end their end)."""
    gate = threading.Event()
    with ThreadPoolExecutor(2) as ex:
        tracker = _bare_tracker(ex)
        for i in range(500):
            tracker.submit(_quick, 2 * i)
        for _ in range(2):
            tracker.submit(gate.wait, 10)
        tracker.close_submission()
        deadline = time.monotonic() + 10
        while tracker.finished < instrument.TIMED_FIRST + 500 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not tracker.all_done.is_set()
        t_open = time.monotonic()
        gate.set()
        assert tracker.all_done.wait(5), (tracker.finished, tracker.submitted)
        t_seen = time.monotonic()
        totals = tracker.totals()
    assert totals["items"] == instrument.TIMED_FIRST + 502
    assert t_open <= totals["last_end"] <= t_seen


def test_a_refused_submit_is_not_counted():
    ex = ThreadPoolExecutor(1)
    tracker = _bare_tracker(ex)
    ex.shutdown()
    before = tracker.submitted
    for _ in range(3):
        with pytest.raises(RuntimeError):
            tracker.submit(_quick, 1)
    assert tracker.submitted == before == instrument.TIMED_FIRST


def test_ids_issued_reads_the_counter_without_taking_an_id():
    ids = itertools.count(7)
    for _ in range(5):
        next(ids)
    assert instrument.ids_issued(ids) == 12 and next(ids) == 12


class _ParkingSemaphore:
    """The pool's idle semaphore, whose ``release`` (each worker calls it
    after each task) parks the worker there until the gate opens: a worker
    between two tasks, as a poll under the GIL mostly finds it."""

    def __init__(self, real: Any, gate: threading.Event, parked: threading.Event) -> None:
        self.real, self.gate, self.parked = real, gate, parked

    def release(self, *args: Any) -> None:
        self.parked.set()
        self.gate.wait(10)
        self.real.release(*args)

    def acquire(self, *args: Any, **kwargs: Any) -> bool:
        return self.real.acquire(*args, **kwargs)


def test_a_worker_between_two_tasks_reads_busy_while_tasks_wait():
    """Under the GIL a poll mostly gets to run when a worker gives the GIL up
    at the end of a task, in the executor's own locking: with tasks queued, a
    worker outside any task is between two of them and reads busy (a pool of
    1 ms tasks read 0/4 busy while it ran 1000 tasks a second)."""
    gate, parked = threading.Event(), threading.Event()
    with ThreadPoolExecutor(1) as ex:
        tracker = instrument.Tracker(ex, "thread", None, deliver_results=False)
        ex._idle_semaphore = _ParkingSemaphore(ex._idle_semaphore, gate, parked)
        for i in range(5):
            tracker.submit(_quick, i)
        assert parked.wait(10)
        state = tracker.poll()
        (row,) = state["workers"]
        assert state["queued"] == 4 and state["running"] == 1
        assert row[WORKER_INDEX["state"]] == "running" and row[WORKER_INDEX["task"]] == -1
        gate.set()
        tracker.close_submission()
        _until_done(tracker)
        state = tracker.poll()
    assert state["running"] == 0 and state["workers"][0][WORKER_INDEX["state"]] == "idle"
