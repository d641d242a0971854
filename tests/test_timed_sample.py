"""Process pools time a sample of their calls phase by phase and count the rest.

The counts must stay exact (every task, every failure, every worker's done
count), the phase means must be the sample's, and a caller must get the same
results and exceptions from a light call as from a timed one.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from typing import List

import pytest

from execscope.protocol import WORKER_INDEX
from execscope.runner import instrument, slots, worker
from execscope.runner.instrument import Phases, Totals


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _tracker(every: int, clock: Clock) -> instrument.Tracker:
    return instrument.Tracker(object(), "thread", None, clock=clock, timed_every=every)


# -- which calls are timed, and what each stands for ------------------------------------------

def test_after_the_first_calls_about_one_in_every_is_timed_and_the_weights_cover_every_call():
    clock = Clock()
    tracker = _tracker(16, clock)
    weights = []
    for task_id in range(5000):
        clock.t += 1e-5  # 100 000 calls a second: the time rule never fires
        weights.append(tracker.timed_weight(task_id, clock()))
    first = weights[:instrument.TIMED_FIRST]
    assert first == [1] * instrument.TIMED_FIRST
    later = [w for w in weights[instrument.TIMED_FIRST:] if w]
    timed_share = len(later) / (5000 - instrument.TIMED_FIRST)
    assert 1 / 24 < timed_share < 1 / 10
    assert max(later) <= 2 * 16 - 1 and min(later) >= 1
    last_timed = max(i for i, w in enumerate(weights) if w)
    assert sum(weights) == last_timed + 1  # each call is stood for once, up to the last timed one


def test_a_slow_stream_of_calls_is_timed_whole():
    clock = Clock()
    tracker = _tracker(16, clock)
    for task_id in range(300):
        clock.t += instrument.TIMED_GAP_S * 1.01  # fewer than fifty calls a second
        assert tracker.timed_weight(task_id, clock()) == 1


def test_timed_every_one_times_every_call():
    clock = Clock()
    tracker = _tracker(1, clock)
    assert all(tracker.timed_weight(i, clock()) == 1 for i in range(500))


def test_totals_stand_for_every_finished_call():
    totals = Totals()
    phases = Phases(queue=0.1, ser=0.01, xfer=0.02, deser=0.03, compute=1.0, rser=0.04, rxfer=0.05, rdeser=0.06)
    totals.add(1, 1, 1.0, 1.1, 2.0, phases, 100, 10, weight=3)  # stands for itself and two light calls
    totals.add(1, 1, 2.0, 2.1, 3.0, phases, 100, 10, weight=1)
    for _ in range(2):
        totals.count(1, 1, 3.5)
    out = totals.estimated()
    assert (out.items, out.records, out.failed) == (4, 4, 0)
    assert out.compute == pytest.approx(4.0) and out.bytes_out == 400 and out.queue == pytest.approx(0.4)
    assert out.last_end == 3.5 and out.first_submit == 1.0
    # a light call finished whose timed representative has not: scaled to the calls finished
    totals.count(1, 0, 4.0)
    out = totals.estimated()
    assert (out.items, out.failed) == (5, 1) and out.compute == pytest.approx(5.0)
    assert out.bytes_in == 50


# -- a real process pool ------------------------------------------------------------------------

def _sleepy(i: int) -> int:
    time.sleep(0.002)
    if i % 97 == 13:
        raise ValueError("task %d says no" % i)
    return i * 2


def _run(every: int, n: int, deliver: bool, chunk: int = 1):
    run_dir = tempfile.mkdtemp(prefix="execscope-test-")
    slots.create(run_dir)
    table = slots.SlotTable(run_dir)
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(2, mp_context=ctx, initializer=worker.init_worker,
                             initargs=(run_dir, os.getpid(), "fork")) as ex:
        tracker = instrument.Tracker(ex, "process", table, deliver_results=deliver, timed_every=every)
        if chunk > 1:
            futures = tracker.map_chunks(_sleepy, list(range(n)), chunk, {})
        else:
            futures = [tracker.submit(_sleepy, i) for i in range(n)]
        tracker.close_submission()
        assert tracker.all_done.wait(60), (tracker.finished, tracker.submitted)
        state = tracker.poll()
        totals = tracker.totals()
        own = tracker.own_cost()
        errors = tracker.drain_errors()
    return futures, state, totals, own, errors


def _outcomes(futures) -> List[object]:
    out = []
    for f in futures:
        try:
            out.append(f.result(0))
        except ValueError as exc:
            out.append(str(exc))
    return out


def test_light_calls_count_exactly_and_deliver_the_same_results_and_exceptions():
    n = 700
    futures, state, totals, own, errors = _run(16, n, deliver=True)
    failing = sum(1 for i in range(n) if i % 97 == 13)
    assert own["calls"] == n and own["phases_timed"] < n / 3  # most calls were light
    assert (totals["items"], totals["failed"], totals["records"]) == (n, failing, n)
    assert (state["completed"], state["failed"]) == (n - failing, failing)
    expected = [("task %d says no" % i) if i % 97 == 13 else i * 2 for i in range(n)]
    assert _outcomes(futures) == expected
    assert len(errors) == min(failing, instrument.MAX_REPORTED_ERRORS)
    assert all("says no" in e["message"] for e in errors)
    done = sum(row[WORKER_INDEX["done"]] for row in state["workers"])
    assert done == n  # the workers count light calls too


def test_the_sampled_means_are_those_of_timing_every_call():
    n = 600
    means = {}
    for every in (1, 16):
        _, _, totals, own, _ = _run(every, n, deliver=False)
        assert totals["items"] == n
        means[every] = {name: totals[name] / n for name in ("compute", "queue")}
        means[every]["bytes_out"] = totals["bytes_out"] / n
        if every == 1:
            assert own["phases_timed"] == n
    # compute is a 2 ms sleep, the same whichever calls are timed
    assert means[16]["compute"] == pytest.approx(means[1]["compute"], rel=0.15)
    assert means[16]["bytes_out"] == pytest.approx(means[1]["bytes_out"], rel=0.15)
    assert means[16]["compute"] > 0.0019


def test_light_map_chunks_return_their_lists_and_count_their_items():
    futures, state, totals, own, _ = _run(16, 2000, deliver=True, chunk=4)
    assert own["calls"] == 500 and totals["items"] == 2000
    failing = sum(1 for i in range(2000) if i % 97 == 13)
    assert totals["failed"] == 4 * failing  # a chunk fails whole, as CPython's map does
    ok = [f.result(0) for f in futures if not f.exception(0)]
    assert all(isinstance(chunk, list) and len(chunk) == 4 for chunk in ok)


def test_a_multiprocessing_pool_counts_its_light_calls_exactly():
    """Pool's apply_async: a light call that succeeds is counted by the
    pool's result handler alone (no tracker call); failures, the calls after
    close and the timed ones take the full way."""
    from execscope.runner import mp_pool

    n = 700
    run_dir = tempfile.mkdtemp(prefix="execscope-test-")
    slots.create(run_dir)
    watch = mp_pool.build({"start_method": "fork", "workers": 2}, run_dir)
    try:
        tracker = instrument.Tracker(watch, "pool", slots.SlotTable(run_dir), deliver_results=False)
        watch.tracker = tracker
        results = [watch.submit(_sleepy, i) for i in range(n)]
        for r in results[:n // 2]:
            r.wait(60)
        middle = tracker.poll()  # half done: counted so far, nothing queued twice
        assert n // 2 <= middle["completed"] + middle["failed"] <= n
        tracker.close_submission()
        assert tracker.all_done.wait(60), (tracker.finished, tracker.submitted)
        t_last = time.monotonic()
        state = tracker.poll()
        totals = tracker.totals()
        errors = tracker.drain_errors()
        outcomes = []
        for r in results:
            try:
                outcomes.append(r.get(0))
            except ValueError as exc:
                outcomes.append(str(exc))
    finally:
        watch.shutdown()
    failing = sum(1 for i in range(n) if i % 97 == 13)
    assert tracker.submitted == n
    assert (totals["items"], totals["failed"], totals["records"]) == (n, failing, n)
    assert (state["completed"], state["failed"]) == (n - failing, failing)
    timed, finished = tracker.timed_share()
    assert finished == n and timed < n / 3  # most calls were light
    assert outcomes == [("task %d says no" % i) if i % 97 == 13 else i * 2 for i in range(n)]
    assert len(errors) == min(failing, instrument.MAX_REPORTED_ERRORS)
    assert sum(row[WORKER_INDEX["done"]] for row in state["workers"]) == n
    assert watch.queue_depths() == (0, 0)
    assert totals["last_end"] <= t_last
