"""Program mode without processes: merging telemetry, per-executor detection, argument checks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from execscope import detect
from execscope.errors import UsageError
from execscope.executors import (BoundMeter, ExecutorAlerts, executor_snapshot, executor_view, merge_ticks,
                                 verdict)
from execscope.model import Counts, ExecutorView, RunConfig, Snapshot
from execscope.program import _check_options
from execscope.program_cli import split_program
from execscope.protocol import TOTALS_FIELDS
from fixtures.snapshots import worker


def totals(items: int, compute: float, hist: dict = None) -> dict:
    data = {name: 0 for name in TOTALS_FIELDS}
    data.update(items=items, records=items, compute=compute, first_submit=1.0, first_begin=1.1, last_end=2.0)
    data["hist"] = hist or {"500": items}
    return data


def entry(ex_id: str, pid: int, kind: str = "thread", *, submitted: int = 0, completed: int = 0, queued: int = 0,
          running: int = 0, blocked: int = 0, workers=(), max_workers: int = 2, t_created: float = 1.0,
          compute: float = 0.0) -> dict:
    return {"id": ex_id, "pid": pid, "kind": kind, "created_at": "prog.py:%s" % ex_id.split(":")[1],
            "function": "main", "via": None, "start_method": "fork" if kind == "process" else None,
            "max_workers": max_workers, "t_created": t_created, "submitted": submitted, "completed": completed,
            "failed": 0, "queued": queued, "dispatched": 0, "running": running, "blocked": blocked,
            "queue_source": "executor", "workers": list(workers), "totals": totals(completed, compute),
            "shutdown": False, "broken": False, "mode": "submit", "chunksize": None, "map_items": 0,
            "threads_at_first_submit": None}


def row(tid: int, state: str = "running", pid: int = 0, task: int = 0, blocked_on: int = -1) -> list:
    return ["t:%d" % tid, "w%d" % tid, pid, tid, state, task, 1.0, 0, 0.0, blocked_on, 0.0]


def test_merge_sums_executors_of_every_process_and_keeps_the_retired():
    a = {"t": 5.0, "threads": 3, "executors": [entry("10:1", 10, submitted=8, completed=5, queued=1, running=2,
                                                      workers=[row(11), row(12)], compute=0.5)]}
    b = {"t": 5.1, "threads": 2, "executors": [entry("20:1", 20, "process", submitted=4, completed=4,
                                                      compute=0.2)]}
    old = entry("10:2", 10, submitted=3, completed=3, compute=0.3, t_created=0.5)
    merged = merge_ticks([a, b], [old])
    assert (merged["submitted"], merged["completed"]) == (15, 12)
    assert (merged["queued"], merged["running"]) == (1, 2)  # live figures: live executors only
    assert merged["totals"]["items"] == 12 and merged["totals"]["compute"] == pytest.approx(1.0)
    assert merged["totals"]["hist"] == {500: 12}
    assert merged["t"] == 5.1 and merged["threads"] == 5 and merged["max_workers"] == 4
    assert [e["id"] for e in merged["executors"]] == ["10:2", "10:1", "20:1"]  # by creation
    assert [r[2] for r in merged["workers"]] == [10, 10]  # thread rows name their process
    assert merged["own_cost"]["per_task_s"] is None  # no agent timed anything


def test_merge_weighs_each_trackers_own_cost_by_the_tasks_it_timed():
    live, old = entry("10:1", 10), entry("10:2", 10)
    live["own_cost"] = {"every": 16, "timed": 3, "submit_timed": 1, "submit_s": 2e-6, "finish_s": 4e-6}
    old["own_cost"] = {"every": 16, "timed": 1, "submit_timed": 3, "submit_s": 6e-6, "finish_s": 8e-6}
    merged = merge_ticks([{"t": 1.0, "executors": [live]}], [old])["own_cost"]
    assert (merged["timed"], merged["submit_timed"]) == (4, 4)
    assert merged["submit_s"] == pytest.approx(5e-6) and merged["finish_s"] == pytest.approx(5e-6)
    assert merged["per_task_s"] == pytest.approx(10e-6)


def _view(e: dict, state: str = "live") -> ExecutorView:
    from execscope.model import WorkerView

    def views(tick, t_created):
        return [WorkerView(key=r[0], label=r[1], kind="thread", pid=r[2], tid=r[3], state=r[4], task=r[5],
                           state_age_s=1.0, done=0, busy_s=0.0, blocked_on=r[9], since_s=1.0)
                for r in tick["workers"]]

    return executor_view(e, views, t_launch=0.5, now=3.0, rates=[(2.0, 0), (3.0, 4)], state=state)


def test_an_executor_view_narrows_the_snapshot_to_it():
    ex = _view(entry("10:1", 10, submitted=8, completed=5, queued=1, running=2, workers=[row(11), row(12)],
                     compute=0.5))
    assert ex.counts == Counts(submitted=8, queued=1, running=2, completed=5)
    assert ex.created_t_s == pytest.approx(0.5) and ex.run_elapsed_s == pytest.approx(2.0)
    assert ex.throughput_per_s == pytest.approx(4.0)
    assert ex.breakdown.compute == pytest.approx(0.1)
    whole = Snapshot(config=RunConfig(workload="python prog.py", executor="program", argv=("python", "prog.py")),
                     t_s=2.5, status="running", executors=(ex,))
    sub = executor_snapshot(whole, ex)
    assert sub.config.executor == "thread" and sub.config.workers == 2 and sub.max_workers == 2
    assert sub.counts == ex.counts and len(sub.workers) == 2 and sub.startup_s == pytest.approx(0.5)


def _deadlocked(t: float, ex_id: str = "10:1") -> dict:
    return entry(ex_id, 10, submitted=6, queued=4, blocked=2, workers=[row(11, "blocked", 10, 0, 4),
                                                                        row(12, "blocked", 10, 1, 5)])


def test_detectors_run_on_each_executor_and_their_alerts_name_it():
    book = ExecutorAlerts(detect.DETECTORS, history_len=100)
    config = RunConfig(workload="python prog.py", executor="program", argv=("python", "prog.py"))
    healthy = entry("10:2", 10, submitted=3, completed=3, compute=0.3)
    last = None
    for i in range(5):
        t = 1.0 + i * 0.1
        views = (_view(_deadlocked(t)), _view(healthy))
        last = book.evaluate(Snapshot(config=config, t_s=t, status="running", executors=views))
    starving = last.executors[0].alerts
    assert [a.kind for a in starving] == ["starvation"] and starving[0].severity == "critical"
    assert last.executors[1].alerts == ()
    assert last.alerts[0].evidence["executor"] == "prog.py:1"
    assert "prog.py:1" in last.alerts[0].message
    assert book.active("starvation") is not None  # what the session's deadlock watchdog reads


def test_a_retired_executor_clears_its_alerts():
    book = ExecutorAlerts(detect.DETECTORS, history_len=100)
    config = RunConfig(workload="p", executor="program", argv=("python", "p.py"))
    for i in range(3):
        book.evaluate(Snapshot(config=config, t_s=1.0 + i / 10, status="running",
                               executors=(_view(_deadlocked(1.0)),)))
    snap = book.evaluate(Snapshot(config=config, t_s=2.0, status="running",
                                  executors=(_view(_deadlocked(1.0), state="retired"),)))
    assert snap.alerts and not any(a.active for a in snap.alerts)
    assert book.active("starvation") is None


def test_bound_meter_needs_samples_then_names_what_workers_wait_for():
    meter = BoundMeter()
    ex = ExecutorView(id="1:1", created_at="p.py:1", kind="thread", pid=1,
                      workers=(worker(1, cpu=3.0), worker(2, cpu=2.0), worker(3, "idle", cpu=0.0)))
    for _ in range(2):
        out = meter.update(ex)
    assert out.bound is None  # four readings: not enough yet
    out = meter.update(ex)
    assert out.bound == "io-bound" and out.cpu_per_running_worker == pytest.approx(0.025)


def test_bound_meter_lets_a_gil_wait_decide_only_when_its_samples_can():
    def pool(wait, wait_range):
        workers = tuple(replace(worker(i, cpu=1.0), gil_wait=wait, gil_wait_range=wait_range) for i in (1, 2))
        return ExecutorView(id="1:1", created_at="p.py:1", kind="thread", pid=1, workers=workers)

    few, many = BoundMeter(), BoundMeter()
    for _ in range(3):
        # One native stack of three caught each I/O worker taking the GIL back...
        sparse = few.update(pool(0.33, (0.06, 0.79)))
        # ...while 120 waiting of 300 leave no doubt.
        dense = many.update(pool(0.4, (0.35, 0.46)))
    assert sparse.bound == "io-bound" and sparse.gil_wait_per_running_worker == pytest.approx(0.33)
    assert dense.bound == "gil-bound"


@pytest.mark.parametrize("cpu,gil,tree,kind,expected", [
    (0.97, None, 195.0, "process", "cpu-bound"),
    (0.45, None, 100.0, "thread", "gil-bound"),  # two threads sharing one core: the GIL
    (0.45, 0.05, 100.0, "thread", "mixed"),  # sampled: they do not wait for it after all
    (0.10, 0.50, 30.0, "thread", "gil-bound"),
    (0.02, None, 4.0, "thread", "io-bound"),
    (0.02, None, 4.0, "process", "io-bound"),
])
def test_verdict(cpu, gil, tree, kind, expected):
    assert verdict(cpu, gil, tree, kind) == expected


@pytest.mark.parametrize("argv", [
    ["run", "--headless", "--", "python", "p.py", "--", "x"],
    ["run", "--json", "o.json", "--", "python", "-m", "compileall"],
])
def test_split_program_takes_everything_after_the_first_double_dash(argv):
    options, program = split_program(argv)
    assert options == argv[:argv.index("--")] and program == argv[argv.index("--") + 1:]


def test_split_program_leaves_other_commands_alone():
    assert split_program(["compare", "cpu", "--", "x"]) == (["compare", "cpu", "--", "x"], None)


@pytest.mark.parametrize("argv", [
    ["python", "prog.py", "-I"], ["python", "-u", "prog.py"], ["python", "-W", "error", "-X", "dev", "p.py"],
    ["python", "-Werror", "-c", "pass"], ["python", "-m", "compileall", "-S"], ["python", "-"],
    ["python", "-OO", "--check-hash-based-pycs", "always", "p.py"],
])
def test_interpreter_options_that_keep_the_injection(argv):
    _check_options(argv)


@pytest.mark.parametrize("argv,needle", [
    (["python", "-I", "p.py"], "-I"), (["python", "-uS", "p.py"], "-S"), (["python", "-X", "dev", "-E", "p.py"], "-E"),
    (["python", "-u"], "give a script"),
])
def test_interpreter_options_that_defeat_it(argv, needle):
    with pytest.raises(UsageError, match=needle):
        _check_options(argv)


def test_retired_executors_made_at_one_line_are_folded_beyond_a_limit():
    from execscope.executors import fold_retired

    many = [entry("10:%d" % i, 10, submitted=5, completed=5, compute=0.1, t_created=float(i)) for i in range(1, 8)]
    for e in many:
        e["created_at"] = "loop.py:6"
    other = entry("10:99", 10, submitted=1, completed=1, t_created=3.5)
    assert len(fold_retired(many + [other], keep=10)) == 8  # under the limit: untouched
    folded = fold_retired(many + [other], keep=4)
    assert [e["id"] for e in folded] == ["10:1+6", "10:99"]
    assert folded[0]["instances"] == 7 and folded[0]["completed"] == 35
    assert folded[0]["totals"]["items"] == 35 and folded[0]["totals"]["compute"] == pytest.approx(0.7)
    again = fold_retired(folded + [dict(many[0], id="10:50")], keep=1)
    assert again[0]["id"] == "10:1+7" and again[0]["instances"] == 8
