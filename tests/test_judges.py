"""Each tour judge decides from the numbers: for every claim, run records
built from figures a real run could give, one set where the claim holds and
one where it does not.  A judge that always said "holds" (or always "does
not hold") fails here."""

from __future__ import annotations

import copy
from typing import Any, Dict

import pytest

from execscope import tour
from execscope.tour import FAILS, HOLDS, Facts

TWO = Facts(size="default", usable_cpus=2)
ONE = Facts(size="default", usable_cpus=1)


def run(kind: str = "thread", tput: float = 100.0, *, workers: int = 2, start: str = None,
        completed: int = 100, wall: float = 1.0, tree: float = 95.0, cores=(50.0, 50.0),
        params: Dict[str, str] = None, gil=None, version: str = "3.11.7", **extra: Any) -> Dict[str, Any]:
    """A run object (``execscope.run/1``) with the fields the judges read."""
    out = {
        "schema": "execscope.run/1",
        "workload": {"name": "w", "params": dict(params or {})},
        "executor": {"kind": kind, "start_method": start, "max_workers": None if kind == "serial" else workers},
        "interpreter": {"executable": "/usr/bin/python3", "version": version, "gil_enabled": True,
                        "switch_interval_s": 0.005},
        "machine": {"logical_cpus": 2, "affinity_cpus": 2, "usable_cpus": 2, "cgroup_cpu_limit": None,
                    "interpreter_cpu_count": 2},
        "status": "completed", "reason": "", "wall_s": wall, "first_task_start_s": 0.05,
        "tasks": {"submitted": completed, "completed": completed, "failed": 0, "throughput_per_s": tput,
                  "first_error": None},
        "breakdown_s": dict.fromkeys(("queue_wait", "serialize", "transfer", "deserialize", "compute",
                                      "result_serialize", "result_transfer", "result_deserialize"), 0.0),
        "ipc": {"bytes_sent": 0, "bytes_received": 0, "share_of_task_time": 0.0},
        "gil": gil or {"source": "unavailable", "reason": "not sampled", "threads": []},
        "cpu": {"per_core_mean_percent": list(cores), "process_tree_mean_percent": tree,
                "peak_rss_bytes": 50 << 20},
        "worker_startup_s": {"mean": None, "max": None},
        "alerts": [],
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key].update(value)
        else:
            out[key] = value
    return out


def waits(wait: float, n: int) -> Dict[str, Any]:
    return {"source": "py-spy", "threads": [{"name": "w%d" % i, "held": 1.0 / n, "wait": wait} for i in range(n)]}


def verdicts(judge, holding, failing, facts=TWO):
    got = judge(holding, facts)
    assert got.status == HOLDS, got
    not_got = judge(failing, facts)
    assert not_got.status == FAILS, not_got
    return got, not_got


# -- C2: CPU-bound threads do not scale ---------------------------------------------------


def test_c2_threads_that_stay_at_the_serial_line_hold_and_threads_that_scale_do_not():
    ok = {"serial": run("serial", 100), "thread x2": run(tput=98, gil=waits(0.5, 2)),
          "thread x4": run(tput=95, workers=4, gil=waits(0.74, 4)),
          "process": run("process", 190, start="fork")}
    bad = copy.deepcopy(ok)
    bad["thread x4"]["tasks"]["throughput_per_s"] = 180.0  # 1.8x: threads scaled
    got, _ = verdicts(tour.judge_c2, ok, bad)
    assert "0.95x" in got.figure and "74%" in got.measured


# -- C3: I/O threads scale ----------------------------------------------------------------


def test_c3_io_threads_near_linear_hold_and_a_flat_line_does_not():
    io = {"latency_ms": "20"}
    ok = {"serial": run("serial", 50, params=io, tree=5.0),
          "thread x2": run(tput=99, params=io, tree=5.0), "thread x4": run(tput=196, workers=4, params=io),
          "thread x8": run(tput=380, workers=8, params=io, tree=12.0)}
    bad = copy.deepcopy(ok)
    bad["thread x8"]["tasks"]["throughput_per_s"] = 120.0  # 2.4x with 8 threads: not linear
    got, _ = verdicts(tour.judge_c3, ok, bad)
    assert "thread x8 7.60x" == got.figure
    busy = copy.deepcopy(ok)
    busy["thread x8"]["cpu"]["process_tree_mean_percent"] = 150.0  # I/O that kept 1.5 CPUs busy
    assert tour.judge_c3(busy, TWO).status == FAILS


# -- C4: default max_workers ---------------------------------------------------------------


def test_c4_default_max_workers_is_min_32_cpus_plus_4():
    ok = {"default 3.11": run(workers=6)}
    bad = {"default 3.11": run(workers=5)}
    got, _ = verdicts(tour.judge_c4, ok, bad)
    assert "min(32, 2 + 4) = 6" in got.measured
    # 3.13 counts the CPUs this process may use: its own figure, not the machine's
    many = {"default 3.13": run(workers=8, version="3.13.0", machine={"interpreter_cpu_count": 4,
                                                                       "logical_cpus": 16})}
    assert tour.judge_c4(many, TWO).status == HOLDS
    many["default 3.13"]["machine"]["interpreter_cpu_count"] = 16
    assert tour.judge_c4(many, TWO).status == FAILS


# -- C6: processes scale with cores ----------------------------------------------------------


def test_c6_process_pool_near_ideal_holds_and_a_flat_one_does_not():
    ok = {"serial": run("serial", 100), "process": run("process", 185, start="fork", tree=190.0)}
    bad = copy.deepcopy(ok)
    bad["process"]["tasks"]["throughput_per_s"] = 120.0  # 1.2x of an ideal 2x
    verdicts(tour.judge_c6, ok, bad)
    # one usable CPU: nothing to scale onto, said as such
    one = tour.judge_c6(ok, ONE)
    assert one.status == FAILS and "only one CPU" in one.measured


# -- C7: pickling has a cost --------------------------------------------------------------------


def test_c7_holds_when_serialize_and_deserialize_are_measured_and_not_when_they_are_zero():
    ok = {"process": run("process", 20, start="fork", completed=24, params={"mb": "4"},
                         breakdown_s={"serialize": 0.012, "transfer": 0.004, "deserialize": 0.010},
                         ipc={"bytes_sent": 24 * (4 << 20), "share_of_task_time": 0.6})}
    bad = copy.deepcopy(ok)
    bad["process"]["breakdown_s"]["serialize"] = 0.0  # nothing measured
    got, _ = verdicts(tour.judge_c7, ok, bad)
    assert "4.0 MiB" in got.figure
    none_sent = copy.deepcopy(ok)
    none_sent["process"]["ipc"]["bytes_sent"] = 0
    assert tour.judge_c7(none_sent, TWO).status == FAILS


# -- C9: chunksize -------------------------------------------------------------------------------


def test_c9_larger_chunks_faster_with_less_ipc_hold_and_no_gain_does_not():
    ok = {"chunksize 1": run("process", 2000, start="fork", ipc={"share_of_task_time": 0.9}),
          "chunksize 10": run("process", 9000, start="fork", ipc={"share_of_task_time": 0.5}),
          "chunksize 100": run("process", 20000, start="fork", ipc={"share_of_task_time": 0.2})}
    bad = copy.deepcopy(ok)
    bad["chunksize 100"]["tasks"]["throughput_per_s"] = 2400.0  # 1.2x: no real gain
    got, _ = verdicts(tour.judge_c9, ok, bad)
    assert got.figure.startswith("chunksize 100: 10.00x")
    more_ipc = copy.deepcopy(ok)
    more_ipc["chunksize 100"]["ipc"]["share_of_task_time"] = 0.95  # faster, but more IPC share
    assert tour.judge_c9(more_ipc, TWO).status == FAILS


# -- C10: shared memory avoids the copy ------------------------------------------------------------


def test_c10_shared_memory_holds_when_bytes_and_ipc_time_collapse():
    pickled = run("process", 10, start="fork", completed=10, params={"mb": "4"},
                  breakdown_s={"serialize": 0.010, "transfer": 0.004, "deserialize": 0.008},
                  ipc={"bytes_sent": 10 * (4 << 20), "share_of_task_time": 0.7})
    shared = run("process", 60, start="fork", completed=10, params={"mb": "4"},
                 breakdown_s={"serialize": 0.00002, "transfer": 0.00001, "deserialize": 0.00002},
                 ipc={"bytes_sent": 10 * 300, "share_of_task_time": 0.01})
    ok = {"pickle": pickled, "shared_memory": shared}
    bad = copy.deepcopy(ok)
    bad["shared_memory"]["ipc"]["bytes_sent"] = 10 * (2 << 20)  # half the data still copied
    verdicts(tour.judge_c10, ok, bad)


# -- C11: start methods -----------------------------------------------------------------------------


def _start(method: str, mean: float) -> Dict[str, Any]:
    return run("process", 50, start=method, worker_startup_s={"mean": mean, "max": mean * 1.2})


def test_c11_fork_fastest_and_forkserver_no_slower_than_spawn_hold():
    ok = {"fork": _start("fork", 0.002), "forkserver": _start("forkserver", 0.030),
          "spawn": _start("spawn", 0.090)}
    bad = copy.deepcopy(ok)
    bad["fork"]["worker_startup_s"]["mean"] = 0.120  # fork slowest
    got, _ = verdicts(tour.judge_c11, ok, bad)
    assert got.figure.startswith("fork 2")
    slow_server = copy.deepcopy(ok)
    slow_server["forkserver"]["worker_startup_s"]["mean"] = 0.2  # forkserver far slower than spawn
    assert tour.judge_c11(slow_server, TWO).status == FAILS


# -- C13: numpy threads ------------------------------------------------------------------------------


def test_c13_numpy_threads_matching_processes_hold_and_threads_at_serial_do_not():
    n = {"n": "400"}
    ok = {"serial": run("serial", 100, params=n), "thread x2": run(tput=185, params=n),
          "process": run("process", 150, start="fork", params=n, ipc={"share_of_task_time": 0.3})}
    bad = copy.deepcopy(ok)
    bad["thread x2"]["tasks"]["throughput_per_s"] = 100.0  # threads held the GIL
    verdicts(tour.judge_c13, ok, bad)
    # on one CPU threads need not beat serial, only match processes
    one = copy.deepcopy(bad)
    one["process"]["tasks"]["throughput_per_s"] = 95.0
    assert tour.judge_c13(one, ONE).status == HOLDS


@pytest.mark.parametrize("judge", [tour.judge_c2, tour.judge_c3, tour.judge_c6, tour.judge_c13])
def test_a_missing_run_is_not_measured_not_judged(judge):
    with pytest.raises(tour.NotMeasured):
        judge({"serial": run("serial", 100)}, TWO)
