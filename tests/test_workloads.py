"""Every built-in workload runs under every executor it supports, at small sizes,
and what it measures obeys the relations that hold on any machine."""

from __future__ import annotations

import pytest

from helpers import run_session, start_methods
from execscope.workloads import catalog

# Small sizes for each workload: a new workload without an entry fails
# test_every_workload_has_small_params, so none ships untested.
SMALL = {
    "cpu": ({"size": "20000"}, 12),
    "io": ({"latency_ms": "5"}, 12),
    "numpy": ({"n": "80"}, 8),
    "hash": ({"mb": "0.5", "rounds": "1"}, 8),
    "pickle_heavy": ({"mb": "0.5"}, 6),
    "shared_memory": ({"mb": "0.5"}, 6),
    "chunksize": ({"size": "50", "chunksize": "8"}, 100),
    "recursive_submit": ({"fanout": "1", "work_ms": "1"}, 2),
    "noop": ({}, 50),
}


def configurations():
    for name, workload in catalog().items():
        for executor in workload.executors:
            if executor == "process":
                for method in start_methods():
                    yield pytest.param(name, executor, method, id="%s-process-%s" % (name, method))
            else:
                yield pytest.param(name, executor, None, id="%s-%s" % (name, executor))


def test_every_workload_has_small_params():
    assert set(SMALL) == set(catalog()), "give every workload a small size in SMALL"


def test_every_workload_describes_itself():
    for w in catalog().values():
        assert w.explanation and len(w.explanation) > 80, w.name
        assert w.claims and all(c.startswith("C") for c in w.claims), w.name
        assert w.expect and w.expected_best in ("serial", "thread", "process"), w.name
        for p in w.params:
            assert p.parse(str(p.default)) == p.default, (w.name, p.name)


@pytest.mark.parametrize("name,executor,method", list(configurations()))
def test_workload_runs(name, executor, method):
    params, tasks = SMALL[name]
    workers = None if executor == "serial" else 4 if name == "recursive_submit" else 2
    session, out = run_session(name, executor=executor, start_method=method, workers=workers,
                               tasks=tasks, params=params, timeout=60)
    assert out["status"] == "completed", (out["reason"], out["tasks"]["first_error"], out["output"])
    t = out["tasks"]
    assert t["failed"] == 0
    expected = tasks * (2 if name == "recursive_submit" else 1)  # parents + one leaf each
    assert t["completed"] == expected == t["submitted"]
    assert t["throughput_per_s"] > 0 and out["wall_s"] > 0
    assert 0 < t["latency_s"]["p50"] <= t["latency_s"]["p95"] <= t["latency_s"]["p99"]
    b = out["breakdown_s"]
    assert b["compute"] > 0
    ipc = [b[k] for k in ("serialize", "transfer", "deserialize", "result_serialize",
                          "result_transfer", "result_deserialize")]
    if executor == "process":
        assert out["ipc"]["bytes_sent"] > 0 and out["ipc"]["bytes_received"] > 0
        assert all(x >= 0 for x in ipc) and b["serialize"] > 0 and b["deserialize"] > 0
        assert out["executor"]["start_method"] == method
        assert out["worker_startup_s"]["max"] is not None
    else:
        assert out["ipc"] == {"bytes_sent": 0, "bytes_received": 0, "share_of_task_time": 0.0}
        assert all(x == 0 for x in ipc)
    assert len(out["timeline"]) >= 1
    assert out["timeline"][-1]["completed"] == expected


def test_pickle_heavy_sends_at_least_its_payload():
    mb = 1.0
    tasks = 4
    _, out = run_session("pickle_heavy", executor="process", start_method=start_methods()[0],
                         workers=2, tasks=tasks, params={"mb": str(mb), "kind": "bytes"})
    assert out["ipc"]["bytes_sent"] >= tasks * mb * 1024 * 1024
    assert out["ipc"]["bytes_received"] < tasks * 1024  # the results are floats


def test_pickle_heavy_result_direction_receives_the_payload():
    _, out = run_session("pickle_heavy", executor="process", start_method=start_methods()[0],
                         workers=2, tasks=3, params={"mb": "0.5", "kind": "bytes", "direction": "result"})
    assert out["ipc"]["bytes_received"] >= 3 * 0.5 * 1024 * 1024
    assert out["breakdown_s"]["result_serialize"] > 0


def test_chunksize_counts_items_not_chunks():
    _, out = run_session("chunksize", executor="process", start_method=start_methods()[0],
                         workers=2, tasks=100, params={"chunksize": "25"})
    assert out["tasks"]["completed"] == 100
    assert out["status"] == "completed"


def test_duration_mode_keeps_submitting_until_time_is_up():
    _, out = run_session("io", executor="thread", workers=4, duration=0.6, params={"latency_ms": "5"})
    assert out["status"] == "completed"
    assert out["tasks"]["completed"] >= 20
    assert out["tasks"]["completed"] == out["tasks"]["submitted"]


def test_the_expected_winner_follows_the_gil():
    """Without a GIL (a free-threaded build, C14) the article expects threads to
    scale CPU-bound Python; workloads that say nothing keep their expectation."""
    cpu, io = catalog()["cpu"], catalog()["io"]
    assert cpu.expectation(True)[0] == "process"
    best, words = cpu.expectation(False)
    assert best == "thread" and "C14" in words
    assert io.expectation(False) == io.expectation(True)
