"""multiprocessing.Pool: the built-in ``--executor pool`` and unmodified programs using a Pool.

Real pools, real workers; sizes small, bands generous.  Detectors get a
triggering and a healthy run each on Pool runs.
"""

from __future__ import annotations

import os
import sys

import pytest

from helpers import ROOT, start_methods
from test_detect_runs import USABLE, alerts_of, fixture, observed_run, one_alert
from test_program import run_program

PROGRAMS = os.path.join(ROOT, "tests", "programs")
METHOD = start_methods()[0]


def pool_of(data):
    pools = [e for e in data["executors"] if e["kind"] == "pool"]
    assert len(pools) == 1, data["executors"]
    return pools[0]


# -- execscope run WORKLOAD --executor pool ---------------------------------------------------

def test_a_pool_run_times_every_task_and_shows_each_worker():
    out, first = observed_run("cpu", executor="pool", start_method=METHOD, workers=2, tasks=40,
                              params={"size": "20000"})
    assert out["status"] == "completed", out["reason"]
    assert out["tasks"]["completed"] == 40 and out["tasks"]["failed"] == 0
    pids = {w["pid"] for w in out["workers"]}
    assert len(pids) == 2 and all(w["kind"] == "process" for w in out["workers"])
    b = out["breakdown_s"]
    assert b["compute"] > 0 and b["deserialize"] > 0 and out["ipc"]["bytes_sent"] > 0


def test_cpu_work_in_a_pool_that_leaves_the_parent_a_cpu_raises_nothing():
    # every usable CPU busy with a worker starves the parent's hand-offs: a real finding, not this control
    out, _ = observed_run("cpu", executor="pool", start_method=METHOD, workers=max(1, USABLE - 1), tasks=30)
    assert out["status"] == "completed", out["reason"]
    assert out["alerts"] == []


def test_pickle_heavy_on_a_pool_raises_a_pickle_bottleneck():
    out, _ = observed_run("pickle_heavy", executor="pool", start_method=METHOD, workers=2, duration=2.0,
                          params={"mb": "4"})
    assert out["status"] == "completed", out["reason"]
    alert = one_alert(out, "pickle_bottleneck")
    assert alert["evidence"]["case"] == "arguments"


def test_pool_map_chunksize_one_gets_a_suggestion_that_quiets_it():
    out, _ = observed_run("chunksize", executor="pool", start_method=METHOD, workers=2, tasks=4000,
                          params={"chunksize": "1"})
    assert out["status"] == "completed", out["reason"]
    suggested = one_alert(out, "chunksize_too_small")["evidence"]["suggested_chunksize"]
    assert 1 < suggested <= 4000 // (4 * 2)
    out, _ = observed_run("chunksize", executor="pool", start_method=METHOD, workers=2, tasks=4000,
                          params={"chunksize": str(suggested)})
    assert out["status"] == "completed" and not alerts_of(out, "chunksize_too_small")
    assert out["tasks"]["completed"] == 4000


def test_a_killed_pool_worker_is_reported_and_its_lost_task_ends_the_run():
    out, _ = observed_run(fixture("crashing.py:kill_self"), executor="pool", start_method=METHOD,
                          workers=2, tasks=12)
    assert out["status"] == "failed"
    assert "never completes" in out["reason"]
    alert = one_alert(out, "worker_crash")
    # the exit code is known when a poll saw the worker before it died (not always: it dies fast)
    assert alert["evidence"]["signal"] in ("SIGKILL", None) and alert["evidence"]["pool_broken"] is True
    assert "does not notice" in alert["message"]
    assert out["tasks"]["failed"] == 1 and out["tasks"]["completed"] == 11


# -- unmodified programs ------------------------------------------------------------------------

def test_a_spawn_pool_mapping_200_items_one_per_chunk():
    session, data = run_program(sys.executable, os.path.join(PROGRAMS, "pool_spawn_map.py"), "200", "spawn")
    assert data["status"] == "completed", data["reason"]
    assert data["program"]["exit_code"] == 0
    assert "200 " in "\n".join(session.snapshot().program.output_tail)
    pool = pool_of(data)
    assert pool["created_at"].endswith("pool_spawn_map.py:24") and pool["start_method"] == "spawn"
    assert pool["max_workers"] == 2 and pool["mode"] == "map" and pool["chunksize"] == 1
    assert pool["tasks"]["submitted"] == 200 and pool["tasks"]["completed"] == 200
    assert pool["breakdown_s"]["compute"] > 0 and pool["ipc"]["bytes_sent"] > 0


def test_a_linter_whose_j_uses_a_pool(tmp_path):
    for n in range(6):
        (tmp_path / ("m%d.py" % n)).write_text("x = 1 \n" + "y = 2\n" * n)
    session, data = run_program(sys.executable, os.path.join(PROGRAMS, "lint_j.py"), "-j", "2", str(tmp_path))
    assert data["program"]["exit_code"] == 1  # it found the trailing blanks: its own verdict, unchanged
    assert "6 file(s), 6 problem(s)" in "\n".join(session.snapshot().program.output_tail)
    pool = pool_of(data)
    assert pool["tasks"]["completed"] == 6 and pool["max_workers"] == 2
    assert pool["created_at"].endswith("lint_j.py:62")


def test_a_program_whose_pool_worker_is_killed_is_told_the_task_is_lost():
    session, data = run_program(sys.executable, os.path.join(PROGRAMS, "pool_crash.py"))
    assert data["program"]["exit_code"] == 3
    alert = one_alert(data, "worker_crash")
    assert alert["evidence"]["signal"] in ("SIGKILL", None) and "does not notice" in alert["message"]
    pool = pool_of(data)
    assert pool["tasks"]["submitted"] == 4 and pool["tasks"]["completed"] == 3
