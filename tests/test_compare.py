"""compare: the same work under several executors, rows and a verdict.

Real runs are small; they assert structure and the relations that hold on any
machine (serial has no IPC, process pools report start-up, sleeping tasks
overlap under threads, every configuration did the same work)."""

from __future__ import annotations

import json
import os

import pytest

from execscope.compare import (CompareRequest, Comparison, ExecutorChoice, Row, compare_json, make_verdict,
                               parse_executors, parse_workers, plan, row_from_run)
from execscope.errors import UsageError
from execscope.markdown import compare_markdown, compare_text, md_table
from helpers import cli, load, start_methods


def no_gil(config):
    return None


def _run(workload, **kw):
    comparison = Comparison(CompareRequest(workload, gil_sampling=False, **kw), gil_factory=no_gil)
    return comparison.run_all()


# -- pure parts ------------------------------------------------------------------------


def test_parse_executors():
    got = parse_executors("serial, thread,process:spawn,process/fork,process,thread")
    assert [c.label for c in got] == ["serial", "thread", "process:spawn", "process:fork", "process"]
    for bad in ("", "threads", "thread:fork", "process:vfork", ",,"):
        with pytest.raises(UsageError):
            parse_executors(bad)


def test_parse_workers():
    assert parse_workers("1,2, 4,2") == [1, 2, 4]
    for bad in ("0", "two", "1,-2", ""):
        with pytest.raises(UsageError):
            parse_workers(bad)


def test_plan_is_validated_serial_first_and_sweeps_workers():
    configs = plan(CompareRequest("io", executors=(ExecutorChoice("thread"), ExecutorChoice("serial"),
                                                   ExecutorChoice("process", "fork")),
                                  workers=(1, 2), tasks=5))
    assert [(c.executor, c.workers) for c in configs] == [
        ("serial", None), ("thread", 1), ("thread", 2), ("process", 1), ("process", 2)]
    assert all(c.tasks == 5 for c in configs)


def test_plan_default_executors_skip_what_the_workload_cannot_run():
    configs = plan(CompareRequest("recursive_submit"))
    assert {c.executor for c in configs} == {"thread"}  # it declares thread only
    with pytest.raises(UsageError):
        plan(CompareRequest("recursive_submit", executors=(ExecutorChoice("process"),)))


@pytest.mark.parametrize("request_", [
    CompareRequest("no_such_workload"),
    CompareRequest("cpu", params={"nope": "1"}),
    CompareRequest("cpu", tasks=0),
])
def test_plan_rejects_bad_input(request_):
    with pytest.raises(UsageError):
        plan(request_)


def _row(label, executor, tput, speedup=None, status="completed", other=None):
    return Row(label=label, executor=executor, start_method=None, workers=2, status=status, completed=10,
               failed=0, wall_s=1.0, throughput_per_s=tput, speedup=speedup, p95_s=0.1, ipc_share=0.0,
               cpu_percent=100.0, other_cpus=other, startup_s=None, first_task_s=None, peak_rss_bytes=1,
               peak_uss_bytes=None, alerts=())


def test_verdict_names_the_best_with_numbers_and_confirms_the_article():
    rows = [_row("serial", "serial", 100, 1.0), _row("thread x6", "thread", 98, 0.98),
            _row("process/fork x2", "process", 190, 1.9)]
    v = make_verdict(rows, "process", "processes scale", usable_cpus=2)
    assert v.best == "process/fork x2" and v.expectation_holds is True
    assert "1.90x" in v.reason and "190" in v.reason and "article expects" in v.reason


def test_verdict_says_when_the_article_does_not_hold_here():
    rows = [_row("serial", "serial", 120, 1.0, other=0.9), _row("thread x6", "thread", 100, 0.83, other=0.9),
            _row("process/fork x2", "process", 105, 0.88, other=0.9)]
    v = make_verdict(rows, "process", "processes scale", usable_cpus=2)
    assert v.best == "serial" and v.expectation_holds is False
    assert "0.88x" in v.reason and "2-CPU" in v.reason and "other work" in v.reason


def test_verdict_prefers_the_simpler_executor_on_a_tie_and_survives_failures():
    rows = [_row("serial", "serial", 100, 1.0), _row("thread x6", "thread", 102, 1.02)]
    assert make_verdict(rows).best == "serial"
    failed = [_row("serial", "serial", 0, None, status="failed")]
    v = make_verdict(failed, "thread")
    assert v.best is None and "No configuration completed" in v.reason


def test_row_from_run_reads_the_run_object():
    run = {
        "executor": {"kind": "process", "start_method": "spawn", "max_workers": 2},
        "status": "completed", "wall_s": 0.5,
        "tasks": {"completed": 10, "failed": 0, "throughput_per_s": 20.0, "latency_s": {"p95": 0.2}},
        "ipc": {"share_of_task_time": 0.25},
        "cpu": {"per_core_mean_percent": [90.0, 80.0], "process_tree_mean_percent": 150.0,
                "peak_rss_bytes": 10, "peak_uss_bytes": 5},
        "worker_startup_s": {"mean": 0.08, "max": 0.09}, "first_task_start_s": 0.07,
        "alerts": [{"kind": "pickle_bottleneck"}, {"kind": "pickle_bottleneck"}],
    }
    row = row_from_run(run, serial_throughput=10.0)
    assert row.label == "process/spawn x2" and row.speedup == 2.0 and row.startup_s == 0.08
    assert row.alerts == ("pickle_bottleneck",) and abs(row.other_cpus - 0.2) < 1e-9


def test_markdown_table_escapes_cells():
    assert md_table(["a"], [["x|y\nz"]]).splitlines()[-1] == "| x\\|y z |"


# -- real runs ---------------------------------------------------------------------------


def test_compare_cpu_structure_and_invariants():
    methods = [m for m in ("fork", "spawn") if m in start_methods()]
    executors = ",".join(["serial", "thread"] + ["process:" + m for m in methods])
    outcome = _run("cpu", executors=tuple(parse_executors(executors)), workers=(2,), tasks=12,
                   params={"size": "20000"})
    data = compare_json(outcome)
    json.dumps(data)  # serialisable as it stands
    assert data["schema"] == "execscope.compare/1" and data["workload"]["name"] == "cpu"
    assert len(data["runs"]) == 2 + len(methods) and outcome.complete
    assert set(data["verdict"]) >= {"best", "reason"} and data["verdict"]["best"]
    assert data["verdict"]["expected_best"] == "process"
    for run in data["runs"]:
        assert run["schema"] == "execscope.run/1" and run["status"] == "completed"
        assert run["tasks"]["completed"] == 12  # the same work every time
    serial = outcome.rows[0]
    assert serial.label == "serial" and serial.speedup == 1.0
    assert serial.ipc_share == 0 and outcome.runs[0]["ipc"]["bytes_sent"] == 0
    for row in outcome.rows:
        if row.executor == "process":
            assert row.startup_s is not None and row.startup_s > 0
            assert row.first_task_s is not None and row.first_task_s > 0
            assert row.workers == 2
        else:
            assert row.startup_s is None
    text, md = compare_text(outcome), compare_markdown(outcome)
    assert "verdict:" in text and "**Verdict:**" in md
    assert sum(1 for line in md.splitlines() if line.startswith("| process/")) == len(methods)


def test_compare_io_threads_beat_serial_clearly():
    outcome = _run("io", executors=(ExecutorChoice("serial"), ExecutorChoice("thread")), workers=(8,),
                   tasks=32, params={"latency_ms": "20"})
    serial, thread = outcome.rows
    assert serial.completed == thread.completed == 32
    # 8 overlapping 20 ms waits: ideal 8x; anything above 3x is a clear win.
    assert thread.speedup > 3, thread
    assert outcome.verdict.best == "thread x8" and outcome.verdict.expectation_holds is True


def test_compare_under_a_free_threaded_build_expects_threads_to_win():
    from execscope.tour import find_free_threaded

    ft, _seen = find_free_threaded()
    if ft is None:
        pytest.skip("no free-threaded CPython here (a python3.13t on PATH is found)")
    outcome = _run("cpu", executors=tuple(parse_executors("serial,thread")), workers=(2,), tasks=16,
                   params={"size": "20000"}, python=ft)
    assert outcome.interpreter["gil_enabled"] is False
    assert outcome.verdict.expected_best == "thread" and "C14" in outcome.verdict.expect


def test_runs_yields_each_run_and_stop_ends_the_sequence():
    comparison = Comparison(CompareRequest("noop", executors=tuple(parse_executors("serial,thread")),
                                           workers=(1, 2), tasks=20, gil_sampling=False), gil_factory=no_gil)
    seen = []
    for result in comparison.runs():
        seen.append(result.row.label)
        assert result.total == 3 and result.run["status"] == "completed"
        comparison.stop()
    assert seen == ["serial"]
    outcome = comparison.outcome()
    assert not outcome.complete and len(outcome.rows) == 1


def test_cli_compare_writes_json_and_markdown(tmp_path):
    out_json, out_md = tmp_path / "c.json", tmp_path / "c.md"
    proc = cli("compare", "io", "--executors", "serial,thread", "--workers", "4", "--tasks", "12",
               "--param", "latency_ms=10", "--no-gil", "--json", str(out_json), "--markdown", str(out_md))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = load(str(out_json))
    assert data["schema"] == "execscope.compare/1"
    assert [r["executor"]["kind"] for r in data["runs"]] == ["serial", "thread"]
    assert data["verdict"]["best"] and data["verdict"]["reason"]
    md = out_md.read_text()
    assert "| serial |" in md and "| thread x4 |" in md
    assert "verdict:" in proc.stdout


@pytest.mark.parametrize("args", [
    ("compare", "cpu", "--executors", "green"),
    ("compare", "cpu", "--workers", "0"),
    ("compare", "cpu", "--workers", "2,x"),
    ("compare", "cpu", "--param", "nope=1"),
    ("compare", "recursive_submit", "--executors", "process"),
    ("compare", "nosuch"),
    ("compare", "cpu", "--json", "/nonexistent-dir/x.json"),
])
def test_cli_compare_bad_input_is_one_line(args):
    proc = cli(*args, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("execscope: error:")
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_cli_compare_interrupted_keeps_what_it_measured(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from helpers import ROOT

    out_json = tmp_path / "c.json"
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "execscope", "compare", "io", "--executors", "serial,thread", "--tasks", "500",
         "--no-gil", "--json", str(out_json)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        line = ""
        while "[" not in line and time.monotonic() < deadline:  # the first progress line: running
            line = proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, out + err
    assert "Traceback" not in err
    data = load(str(out_json))
    assert data["complete"] is False and data["runs"][0]["status"] == "interrupted"
    assert data["verdict"]["best"] is None


def test_the_verdict_says_when_watching_cost_a_run_more_than_the_header_threshold():
    """The speedups users read carry execscope's own cost: where a run's
    observer share passed 3%, the verdict names it."""
    from dataclasses import replace

    rows = [replace(_row("serial", "serial", 100, 1.0), observer_share=0.01),
            replace(_row("process/fork x2", "process", 150, 1.5), observer_share=0.062)]
    v = make_verdict(rows, "process", "processes scale", usable_cpus=2)
    assert "watching took 6% of the CPUs in process/fork x2" in v.reason and v.reason.endswith(".")
    quiet = [replace(r, observer_share=0.02) for r in rows]
    assert "watching" not in make_verdict(quiet, "process", "processes scale", usable_cpus=2).reason
    assert rows[1].json()["observer_share"] == 0.062


def test_rows_take_the_observer_share_from_the_run_object():
    run = {"executor": {"kind": "process", "start_method": "fork", "max_workers": 2}, "status": "completed",
           "tasks": {"completed": 4, "failed": 0, "throughput_per_s": 10.0}, "wall_s": 0.4,
           "observer": {"share": 0.045}}
    assert row_from_run(run, 5.0).observer_share == 0.045
    del run["observer"]
    assert row_from_run(run, 5.0).observer_share is None
