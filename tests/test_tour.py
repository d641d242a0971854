"""tour: one step per claim, judged from run objects; the whole tour at tiny sizes."""

from __future__ import annotations

import re

import pytest

from execscope import tour
from execscope.tour import (CANNOT, FAILS, HOLDS, UNMEASURED, Check, ClaimStep, Facts, TourRunner, judge_c5,
                            judge_c8, judge_c12, judge_c14, steps)
from helpers import cli, load
from pythons import python_or_skip

CLAIM_IDS = ["C%d" % i for i in range(1, 15)]
FACTS = Facts(size="default", usable_cpus=2)


def test_one_step_per_claim_as_plain_data():
    got = steps(size="tiny", gil=False)
    assert [s.claim for s in got] == CLAIM_IDS
    for step in got:
        assert step.text and step.watch.endswith(".")
        if step.blocked:
            assert not step.runs
            continue
        names = [name for name, _ in step.runs]
        assert len(names) == len(set(names)) and step.focus in names
        assert callable(step.judge)
        for _, config in step.runs:
            assert config.tasks and config.timeout and not config.gil_sampling


def test_claim_selection_and_bad_input():
    assert [s.claim for s in steps(size="tiny", claims=["c3", "C12"])] == ["C3", "C12"]
    with pytest.raises(tour.UsageError):
        steps(claims=["C99"])
    with pytest.raises(tour.UsageError):
        steps(size="huge")


def test_c14_needs_a_free_threaded_interpreter():
    (step,) = steps(size="tiny", claims=["C14"])
    ft, _seen = tour.find_free_threaded()
    if ft is None:
        assert "free-threaded" in step.blocked and not step.runs
        result = TourRunner([step], facts=FACTS).run_step(step)
        assert result.check.status == CANNOT
    else:
        assert step.runs and not step.blocked


def test_c14_runs_the_free_threaded_build_make_pythons_caches(monkeypatch):
    """Found without --python and without PATH: from the cache, with nothing else free-threaded about."""
    cached = python_or_skip("3.13t")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    ft, seen = tour.find_free_threaded()
    assert ft == cached, (ft, seen)
    (step,) = steps(size="tiny", claims=["C14"])
    assert {cfg.python for _, cfg in step.runs if _.startswith("free-threaded")} == {cached}


def test_c14_baseline_is_a_gil_build_of_the_same_version_where_there_is_one(monkeypatch):
    from execscope import interpreters

    builds = {"/ft/python3.13t": ((3, 13, 5), True), "/gil/python3.13": ((3, 13, 0), False),
              "/gil/python3.12": ((3, 12, 1), False), "/gil/python3.11": ((3, 11, 7), False)}

    def probe(path=None):
        path = path or "/gil/python3.12"  # the interpreter execscope runs on
        version, ft = builds[path]
        return {"path": path, "version": list(version), "free_threaded_build": ft}

    monkeypatch.setattr(interpreters, "probe", probe)
    monkeypatch.setattr(interpreters, "discovered", lambda: [probe(p) for p in sorted(builds, reverse=True)])
    ft = probe("/ft/python3.13t")
    # the same version first, whether the tour runs on a GIL build or on the 3.13t itself
    assert tour._gil_build_beside(ft, probe("/gil/python3.11")) == "/gil/python3.13"
    assert tour._gil_build_beside(ft, ft) == "/gil/python3.13"
    del builds["/gil/python3.13"]
    assert tour._gil_build_beside(ft, probe("/gil/python3.11")) == "/gil/python3.11"  # the tour's own
    assert tour._gil_build_beside(ft, ft) == "/gil/python3.12"  # the one execscope runs on
    builds["/gil/python3.12"] = ((3, 12, 1), True)
    assert tour._gil_build_beside(ft, ft) is None  # none: no baseline run


def _run(kind, tput, status="completed", completed=100, wall=1.0, first=0.0, alerts=(), ipc=0.0, start=None):
    return {
        "executor": {"kind": kind, "start_method": start, "max_workers": 2},
        "status": status, "reason": "", "wall_s": wall, "first_task_start_s": first,
        "tasks": {"completed": completed, "throughput_per_s": tput, "first_error": None},
        "ipc": {"share_of_task_time": ipc, "bytes_sent": 0},
        "cpu": {"per_core_mean_percent": [50.0, 50.0], "process_tree_mean_percent": 90.0},
        "alerts": list(alerts),
    }


def test_judges_decide_from_numbers():
    runs = {"serial": _run("serial", 100), "process": _run("process", 20, ipc=0.99, start="fork")}
    check = judge_c8(runs, FACTS)
    assert check.status == HOLDS and "0.20x" in check.figure
    runs["process"] = _run("process", 180, ipc=0.1, start="fork")
    assert judge_c8(runs, FACTS).status == FAILS

    noop = {"serial": _run("serial", 0, completed=1000, wall=0.012),
            "thread x2": _run("thread", 0, completed=1000, wall=0.015),
            "process": _run("process", 0, completed=1000, wall=0.120, start="fork")}
    check = judge_c12(noop, FACTS)
    assert check.status == HOLDS and "15µs" in check.figure and "120µs" in check.figure
    noop["process"] = _run("process", 0, completed=1000, wall=0.020, start="fork")
    assert judge_c12(noop, FACTS).status == FAILS


def test_judge_c14_wants_threads_to_scale_with_the_gil_disabled():
    def on(run, executable, version, gil_enabled):
        run["interpreter"] = {"executable": executable, "version": version, "gil_enabled": gil_enabled}
        return run

    runs = {"free-threaded serial": on(_run("serial", 100), "/opt/x/bin/python3.13t", "3.13.5", False),
            "free-threaded thread x2": on(_run("thread", 190), "/opt/x/bin/python3.13t", "3.13.5", False),
            "GIL-build serial": on(_run("serial", 125), "/usr/bin/python3.13", "3.13.0", True)}
    check = judge_c14(runs, FACTS)
    assert check.status == HOLDS and check.figure == "thread x2 1.90x"
    assert "python3.13t 3.13.5 (GIL disabled)" in check.measured and "/opt" not in check.measured
    assert "single-thread speed 0.80x the GIL build (3.13.0)" in check.measured
    runs["free-threaded thread x2"]["interpreter"]["gil_enabled"] = True  # PYTHON_GIL=1: the GIL is back
    assert judge_c14(runs, FACTS).status == FAILS
    runs["free-threaded thread x2"] = on(_run("thread", 110), "/opt/x/bin/python3.13t", "3.13.5", False)
    assert judge_c14(runs, FACTS).status == FAILS


def test_judge_c5_wants_a_deadlock_and_the_alert():
    alert = {"kind": "starvation", "t_s": 0.4, "evidence": {"blocked_workers": ["a", "b"], "queued": 6}}
    check = judge_c5({"thread x2": _run("thread", 1, status="deadlock", alerts=[alert])}, FACTS)
    assert check.status == HOLDS and "deadlock" in check.figure
    assert judge_c5({"thread x2": _run("thread", 1)}, FACTS).status == FAILS


def test_a_failed_run_is_reported_not_judged():
    def judge(runs, facts):
        tour._need(runs, "serial")
        return Check(HOLDS, "", "")

    step = ClaimStep("C8", "claim", "watch.", runs=(), focus="", judge=judge)
    runner = TourRunner([step], facts=FACTS)
    result = runner.run_step(step)
    assert result.check.status == UNMEASURED and "did not happen" in result.check.measured
    failed = {"serial": _run("serial", 0, status="timeout")}
    assert judge_c8.__name__  # judges raise NotMeasured through _need
    with pytest.raises(tour.NotMeasured):
        tour._need(failed, "serial")


@pytest.mark.parametrize("bug", [lambda runs: runs["serial"], lambda runs: None + 1, lambda runs: 1 / 0])
def test_a_bug_in_a_judge_is_raised_not_reported_as_not_measured(bug):
    def judge(runs, facts):
        bug(runs)
        return Check(HOLDS, "", "")

    step = ClaimStep("C8", "claim", "watch.", runs=(), focus="", judge=judge)
    with pytest.raises((KeyError, TypeError, ZeroDivisionError)):
        TourRunner([step], facts=FACTS).run_step(step)


def test_shared_runs_run_once():
    chosen = steps(size="tiny", gil=False, claims=["C2", "C6"])
    seen = []
    runner = TourRunner(chosen, facts=FACTS, on_run=lambda step, name, run: seen.append((step.claim, name)))
    results = list(runner.results())
    assert [r.step.claim for r in results] == ["C2", "C6"]
    # C6 needs serial and process, both already run for C2.
    assert seen == [("C2", "serial"), ("C2", "thread x2"), ("C2", "thread x4"), ("C2", "process")]
    assert all(r.check.status in (HOLDS, FAILS) for r in results), [r.check for r in results]
    assert set(results[1].runs) == {"serial", "process"}


def test_cli_tour_tiny_writes_one_row_per_claim(tmp_path):
    md, js = tmp_path / "report.md", tmp_path / "tour.json"
    proc = cli("tour", "--headless", "--size", "tiny", "--no-gil", "--markdown", str(md), "--json", str(js),
               timeout=170)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    rows = [line for line in md.read_text().splitlines() if re.match(r"\| C\d+ \|", line)]
    assert [row.split("|")[1].strip() for row in rows] == CLAIM_IDS
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        assert len(cells) == 5 and cells[3] in (HOLDS, FAILS, CANNOT), row
    data = load(str(js))
    assert data["schema"] == "execscope.tour/1" and [c["id"] for c in data["claims"]] == CLAIM_IDS
    assert data["complete"] is True


def test_cli_tour_bad_input():
    for args in (("tour", "--claims", "C0"), ("tour", "--size", "huge"), ("tour", "--claims", ",")):
        proc = cli(*args, timeout=60)
        assert proc.returncode == 2 and proc.stderr.startswith("execscope: error:"), proc.stderr
        assert "Traceback" not in proc.stderr


def test_judge_c1_reads_the_switch_interval_cpu_and_gil_shares():
    run = _run("thread", 100, wall=1.0)
    run["interpreter"] = {"version": "3.11.7", "switch_interval_s": 0.005}
    run["gil"] = {"source": "unavailable", "reason": "off", "threads": []}
    check = tour.judge_c1({"thread x4": run}, FACTS)
    assert check.status == HOLDS and check.figure.startswith("0.90 of 2 CPUs") and "0.90 of 2 CPUs" in check.measured
    run["gil"] = {"source": "py-spy", "threads": [{"name": "w%d" % i, "held": 0.24, "wait": 0.7} for i in range(4)]}
    check = tour.judge_c1({"thread x4": run}, FACTS)
    assert check.status == HOLDS and "GIL held 0.96" in check.measured and "70%" in check.measured
    run["cpu"]["process_tree_mean_percent"] = 190.0  # two CPUs busy: not one at a time
    assert tour.judge_c1({"thread x4": run}, FACTS).status == FAILS
