"""Detectors on real runs: each alert kind from a workload that triggers it, and
healthy controls that must raise nothing.  Sizes are small and thresholds are
the detectors' own ratios, so the same checks hold on 2 cores and on 16."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Tuple

import pytest

from execscope.detect import startup as startup_detector
from execscope.machine import cpu_info
from execscope.model import RunConfig
from execscope.report import run_json
from execscope.session import Session
from helpers import start_methods

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
USABLE = cpu_info()["usable_cpus"]
HAS_FORK = "fork" in start_methods()
SPAWN_LIKE = [m for m in ("spawn", "forkserver") if m in start_methods()]
needs_fork = pytest.mark.skipif(not HAS_FORK, reason="the fork start method is not available here")
needs_two_cpus = pytest.mark.skipif(USABLE < 2, reason="needs two usable CPUs")


class Seen(dict):
    """Per alert kind, the t_s of the first snapshot that showed the alert (when
    it was detected, not when it began); ``ticks`` holds every snapshot's
    (t_s, status, completed).  Detection speed is judged in ticks and in the
    run's own progress, never in seconds: seconds belong to the benchmark
    (``python -m benchmarks detection_latency``), not to a test on a loaded machine."""

    def __init__(self) -> None:
        super().__init__()
        self.ticks: List[Tuple[float, str, int]] = []

    def ticks_between(self, t0: float, t1: float) -> int:
        return sum(1 for t, _, _ in self.ticks if t0 < t < t1)

    def at(self, kind: str) -> Tuple[float, str, int]:
        return next(tick for tick in self.ticks if tick[0] == self[kind])


def observed_run(workload: str, **kwargs: Any) -> Tuple[Dict[str, Any], Seen]:
    """A real run (``kwargs`` are RunConfig's); returns its JSON and what was seen live."""
    first = Seen()

    def listener(snap):  # type: ignore[no-untyped-def]
        first.ticks.append((snap.t_s, snap.status, snap.counts.completed))
        for alert in snap.active_alerts:
            first.setdefault(alert.kind, snap.t_s)

    kwargs.setdefault("gil_sampling", False)
    session = Session(RunConfig(workload=workload, **kwargs), listener=listener)
    session.run(timeout=(kwargs.get("timeout") or 60.0) + 30.0)
    return run_json(session.record()), first


def alerts_of(out: Dict[str, Any], kind: str) -> list:
    return [a for a in out["alerts"] if a["kind"] == kind]


def one_alert(out: Dict[str, Any], kind: str) -> Dict[str, Any]:
    found = alerts_of(out, kind)
    assert found, "no %s alert; got %s (status %s: %s)" % (
        kind, [a["kind"] for a in out["alerts"]], out["status"], out["reason"])
    return found[0]


def fixture(spec: str) -> str:
    return os.path.join(FIXTURES, spec)


# -- starvation --------------------------------------------------------------------------

def test_recursive_submit_deadlock_is_caught_at_once_and_stopped():
    out, first = observed_run("recursive_submit", executor="thread", workers=2, tasks=8)
    assert out["status"] == "deadlock"
    alert = one_alert(out, "starvation")
    assert alert["severity"] == "critical"
    # the moment the last worker blocked: the latest "blocked" mark of a task still waiting
    unblocked = {m["data"]["task"] for m in out["marks"] if m["name"] == "unblocked"}
    waiting = [m["t_s"] for m in out["marks"] if m["name"] == "blocked" and m["data"]["task"] not in unblocked]
    assert len(waiting) == 2
    last_blocked = max(waiting)
    # the alert dates itself to the last block, and shows within a few ticks of it
    assert last_blocked <= alert["t_s"] + 0.15
    assert first.ticks_between(last_blocked, first["starvation"]) <= 3
    ev = alert["evidence"]
    assert len(ev["blocked_workers"]) == 2 and ev["queued"] >= 1 and len(ev["waiting_on_tasks"]) == 2
    assert out["timeline"][-1]["blocked"] == 2


def test_parents_blocked_with_workers_to_spare_starve_without_deadlock():
    out, _ = observed_run(fixture("fan_in.py:fan_in"), executor="thread", workers=4, tasks=3,
                          params={"parents": "3", "fanout": "6", "work_ms": "80"})
    assert out["status"] == "completed"
    alert = one_alert(out, "starvation")
    assert alert["severity"] == "warning" and alert["evidence"]["form"] == "starving"
    assert alert["evidence"]["free_workers"] <= 2 and alert["cleared_t_s"] is not None


# -- pickle bottleneck and chunksize ----------------------------------------------------------

def test_pickle_heavy_raises_a_pickle_bottleneck_while_it_runs():
    out, first = observed_run("pickle_heavy", executor="process", start_method=start_methods()[0], workers=2,
                              duration=2.0, params={"mb": "4"})
    assert out["status"] == "completed"
    alert = one_alert(out, "pickle_bottleneck")
    _, status, completed = first.at("pickle_bottleneck")
    assert status == "running" and completed < out["tasks"]["submitted"], "only seen at the end"
    ev = alert["evidence"]
    # consistent with the run's own totals
    assert ev["ipc_share"] == pytest.approx(out["ipc"]["share_of_task_time"], abs=0.1)
    per_task = out["ipc"]["bytes_sent"] / out["tasks"]["completed"]
    assert ev["bytes_out_per_task"] == pytest.approx(per_task, rel=0.1)
    assert ev["mib_per_s"] > 0 and ev["case"] == "arguments" and ev["slower_than_serial"] is True
    assert "shared_memory" in alert["remedy"]


def test_chunksize_one_gets_a_suggestion_that_quiets_it():
    method = start_methods()[0]
    out, _ = observed_run("chunksize", executor="process", start_method=method, workers=2, tasks=4000,
                          params={"chunksize": "1"})
    alert = one_alert(out, "chunksize_too_small")
    suggested = alert["evidence"]["suggested_chunksize"]
    assert 1 < suggested <= 4000 // (4 * 2)
    assert not alerts_of(out, "pickle_bottleneck")
    out, _ = observed_run("chunksize", executor="process", start_method=method, workers=2, tasks=4000,
                          params={"chunksize": str(suggested)})
    assert out["status"] == "completed" and not alerts_of(out, "chunksize_too_small")


# -- GIL contention -------------------------------------------------------------------------------

@needs_two_cpus
def test_cpu_bound_threads_raise_gil_contention():
    out, first = observed_run("cpu", executor="thread", workers=2, duration=1.5)
    alert = one_alert(out, "gil_contention")
    ev = alert["evidence"]
    assert ev["computing_workers"] == 2 and ev["pool_cpu_percent"] <= 135
    running = [t for t, status, _ in first.ticks if status == "running"]
    assert first["gil_contention"] in running[: len(running) // 2 + 1], "seen late in the run"


@needs_two_cpus
def test_gil_releasing_threads_do_not():
    out, _ = observed_run("numpy", executor="thread", workers=2, duration=1.2, params={"n": "400"})
    assert out["status"] == "completed" and not alerts_of(out, "gil_contention")


# -- oversubscription -------------------------------------------------------------------------------

def test_more_cpu_bound_processes_than_usable_cpus():
    # tasks of ~50 ms, so that even 18 workers never wait on the runner to hand out work
    out, _ = observed_run("cpu", executor="process", start_method=start_methods()[0], workers=USABLE + 2,
                          duration=1.5, params={"size": "800000"})
    alert = one_alert(out, "oversubscription")
    ev = alert["evidence"]
    assert ev["case"] == "workers" and ev["usable_cpus"] == USABLE == out["machine"]["usable_cpus"]
    assert ev["runnable_threads_mean"] >= USABLE + 1


@pytest.mark.slow
@needs_two_cpus
def test_blas_threads_times_processes():
    out, _ = observed_run("numpy", executor="process", start_method=start_methods()[0], workers=2,
                          duration=2.0, params={"n": "500", "blas_threads": str(USABLE)})
    alert = one_alert(out, "oversubscription")
    assert alert["evidence"]["case"] == "threads_in_workers", str(alert["evidence"])
    assert "OPENBLAS_NUM_THREADS" in alert["remedy"]


# -- fork with threads ---------------------------------------------------------------------------------

@needs_fork
def test_fork_with_a_server_thread_alive_warns():
    out, _ = observed_run("io", executor="process", start_method="fork", workers=2, tasks=20,
                          params={"variant": "socket", "latency_ms": "5"})
    assert out["status"] == "completed"
    alert = one_alert(out, "fork_with_threads")
    assert alert["severity"] == "warning" and "io-delay-server" in alert["evidence"]["threads_at_fork"]
    assert alert["evidence"]["threads_at_fork"] == out["runner_threads_at_first_submit"]


@pytest.mark.skipif(not SPAWN_LIKE, reason="needs spawn or forkserver")
def test_the_same_server_thread_under_spawn_is_fine():
    out, _ = observed_run("io", executor="process", start_method=SPAWN_LIKE[0], workers=2, tasks=20,
                          params={"variant": "socket", "latency_ms": "5"})
    assert out["status"] == "completed" and not alerts_of(out, "fork_with_threads")


@needs_fork
def test_a_worker_forked_with_a_held_lock_hangs_and_is_named():
    out, _ = observed_run(fixture("fork_lock.py:take_lock"), executor="process", start_method="fork",
                          workers=2, tasks=4, timeout=3.5)
    assert out["status"] == "timeout"
    alert = one_alert(out, "fork_with_threads")
    assert alert["severity"] == "critical" and "lock-holder" in alert["evidence"]["threads_at_fork"]
    hung = alert["evidence"]["hung_workers"]
    assert hung and {h["pid"] for h in hung} <= {w["pid"] for w in out["workers"]}


# -- worker crash -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("function,exitcode,signal", [("kill_self", -9, "SIGKILL"), ("exit_hard", 13, None)])
def test_a_dying_worker_is_reported_with_its_exit(function, exitcode, signal):
    out, _ = observed_run(fixture("crashing.py:" + function), executor="process",
                          start_method=start_methods()[0], workers=2, tasks=12)
    assert out["status"] == "failed"
    alert = one_alert(out, "worker_crash")
    ev = alert["evidence"]
    assert alert["severity"] == "critical" and ev["exitcode"] == exitcode and ev["signal"] == signal
    assert {"pid": ev["pid"], "exitcode": exitcode} in [{"pid": e["pid"], "exitcode": e["exitcode"]}
                                                        for e in out["worker_exits"]]
    assert ev["pool_broken"] is True


# -- start-up dominated ------------------------------------------------------------------------------------

@pytest.mark.skipif(not SPAWN_LIKE, reason="needs spawn or forkserver")
def test_a_short_spawn_run_is_startup_dominated():
    out, _ = observed_run("cpu", executor="process", start_method=SPAWN_LIKE[0], workers=2, tasks=4,
                          params={"size": "20000"})
    assert out["status"] == "completed"
    startup = out["worker_startup_s"]["mean"]
    if startup < startup_detector.MIN_STARTUP_S:
        pytest.skip("workers start in %.0f ms here, below the alert's floor" % (startup * 1e3))
    alert = one_alert(out, "startup_dominated")
    ev = alert["evidence"]
    assert ev["worker_startup_mean_s"] == pytest.approx(startup, rel=0.01)
    assert ev["run_s"] == pytest.approx(out["wall_s"], rel=0.05)


# -- healthy controls ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", start_methods()[:1] + SPAWN_LIKE[:1])
def test_cpu_work_in_a_process_pool_raises_nothing(method):
    out, _ = observed_run("cpu", executor="process", start_method=method, workers=min(2, USABLE), tasks=200)
    assert out["status"] == "completed"
    assert out["alerts"] == []


def test_io_in_a_thread_pool_raises_nothing():
    out, _ = observed_run("io", executor="thread", workers=8, tasks=200, params={"latency_ms": "10"})
    assert out["status"] == "completed"
    assert out["alerts"] == []
