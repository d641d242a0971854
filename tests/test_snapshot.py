"""build_snapshot on a fake clock: telemetry messages in, a Snapshot out.

No process, no sampler: the times are made-up monotonic readings, so every
figure below is exact."""

from __future__ import annotations

from execscope import protocol
from execscope.model import GilThread, GilView, RunConfig
from execscope.runstate import RunState
from execscope.sampling.cpu import CpuReading
from execscope.sampling.sched import SchedReading
from execscope.snapshot import BuildConfig, Readings, RunEnd, build_snapshot

T0 = 5000.0  # launch, on the fake monotonic clock
CONFIG = BuildConfig(config=RunConfig(workload="cpu", executor="thread", workers=2, tasks=40), t_launch=T0,
                     target_pid=100, workload_summary="CPU-bound pure Python")


def _row(key: str, label: str, pid: int, tid: int, state: str, since: float, done: int = 0,
         t_started: float = 0.0) -> list:
    values = {"key": key, "label": label, "pid": pid, "tid": tid, "state": state, "task": 7 if state == "running"
              else -1, "since": since, "done": done, "busy_s": 0.5 * done, "blocked_on": -1, "t_started": t_started}
    return [values[name] for name in protocol.WORKER_FIELDS]


def _totals(items: int, first_submit: float, first_begin: float, last_end: float) -> dict:
    totals = {name: 0 for name in protocol.TOTALS_FIELDS}
    totals.update(items=items, records=items, first_submit=first_submit, first_begin=first_begin,
                  last_end=last_end, compute=0.01 * items, queue=0.002 * items)
    return totals


def _tick(t: float, completed: int, workers: list, **extra) -> dict:
    msg = {"k": "tick", "t": t, "submitted": 40, "queued": 40 - completed - 2, "running": 2, "completed": completed,
           "failed": 0, "threads": 3, "workers": workers}
    msg.update(extra)
    return msg


def _state() -> RunState:
    state = RunState()
    state.apply({"k": "hello", "t": T0 + 0.2, "machine": {"logical_cpus": 4, "usable_cpus": 2},
                 "interpreter": {"version": "3.11.7", "gil_enabled": True}})
    state.apply({"k": "pool", "t": T0 + 0.5, "max_workers": 2, "default_max_workers": 8, "threads": ["MainThread"]})
    return state


CPU = CpuReading(per_core=(50.0, 100.0, 0.0, 0.0), total_percent=37.5, tree_percent=150.0,
                 per_tid={11: 99.0, 12: 51.0}, tree_rss_bytes=1 << 20)


def test_before_the_first_tick_the_run_is_starting_and_counts_from_launch():
    snap = build_snapshot(RunState().copy(), Readings(cpu=CPU), CONFIG, T0 + 0.3)
    assert snap.status == "starting" and abs(snap.t_s - 0.3) < 1e-9
    assert snap.run_elapsed_s == 0.0 and snap.startup_s is None and snap.counts.submitted == 0
    assert snap.cpu.logical_cpus == 4  # no hello yet: the reading's core count
    assert snap.workload_summary == "CPU-bound pure Python" and snap.expected_tasks == 40


def test_a_running_tick_gives_exact_times_rates_and_worker_views():
    state = _state()
    workers = [_row("t:11", "w_0", 0, 11, "running", since=T0 + 1.5, done=4),
               _row("t:12", "w_1", 0, 12, "idle", since=T0 + 1.9, done=6)]
    state.apply(_tick(T0 + 1.0, 0, workers))
    state.apply(_tick(T0 + 2.0, 10, workers, totals=_totals(10, T0 + 0.6, T0 + 0.7, T0 + 1.95)))
    gil = GilView(source="py-spy", reason="", threads=(GilThread("w_0", 100, 11, 0.8, 0.1, 0.1, 0.0, 50),))
    sched = SchedReading(states={100: {11: "R", 12: "S"}}, switches={11: (3, 1), 12: (40, 2)})
    snap = build_snapshot(state.copy(), Readings(cpu=CPU, sched=sched, gil=gil), CONFIG, T0 + 2.1,
                          RunEnd("running"))
    assert snap.status == "running" and abs(snap.t_s - 2.1) < 1e-9
    assert abs(snap.run_elapsed_s - 1.6) < 1e-9  # since the pool existed (t0 + 0.5)
    assert abs(snap.startup_s - 0.5) < 1e-9 and abs(snap.first_task_start_s - 0.1) < 1e-9
    assert abs(snap.mean_throughput_per_s - 10 / 1.6) < 1e-9
    assert abs(snap.throughput_per_s - 10.0) < 1e-9  # 10 tasks between the ticks one second apart
    assert snap.counts.completed == 10 and snap.counts.queued == 28 and snap.max_workers == 2
    assert abs(snap.breakdown.compute - 0.01) < 1e-12 and snap.breakdown.tasks == 10
    assert snap.threads_at_first_submit == ("MainThread",)
    w0, w1 = snap.workers
    assert (w0.label, w0.state, w0.cpu_percent, w0.gil_held, w0.runnable, w0.voluntary_switches) == \
        ("w_0", "running", 99.0, 0.8, 1, 3)
    assert abs(w0.state_age_s - 0.5) < 1e-9 and abs(w0.since_s - 1.5) < 1e-9  # ages on the runner's clock
    assert w1.gil_held is None and w1.runnable == 0 and w1.cpu_percent == 51.0
    assert snap.cpu.tree_threads == 2 and snap.cpu.runnable_threads == 1 and snap.cpu.usable_cpus == 2


def test_a_finished_runner_run_ends_at_its_last_task_other_sources_at_the_end():
    state = _state()
    state.apply(_tick(T0 + 3.0, 40, [], totals=_totals(40, T0 + 0.6, T0 + 0.7, T0 + 2.5)))
    state.apply({"k": "exit", "pid": 321, "exitcode": -9, "t": T0 + 1.25})
    end = RunEnd("completed", "", t_final=T0 + 4.0)
    snap = build_snapshot(state.copy(), Readings(cpu=CPU), CONFIG, T0 + 4.2, end)
    assert snap.finished and abs(snap.run_elapsed_s - 2.0) < 1e-9  # last_end - pool
    assert snap.worker_exits == ((321, -9),) and abs(snap.worker_exit_t_s[0] - 1.25) < 1e-9
    program_like = BuildConfig(config=CONFIG.config, t_launch=T0, ends_at_last_task=False)
    snap = build_snapshot(state.copy(), Readings(cpu=CPU), program_like, T0 + 4.2, end)
    assert abs(snap.run_elapsed_s - 3.5) < 1e-9  # t_final - pool
    stopped = build_snapshot(state.copy(), Readings(cpu=CPU), CONFIG, T0 + 4.2,
                             RunEnd("interrupted", "stopped", t_final=T0 + 3.0))
    assert abs(stopped.run_elapsed_s - 2.5) < 1e-9 and stopped.reason == "stopped"


def test_the_gil_probe_is_live_while_running_whole_run_once_final_and_the_source_without_py_spy():
    state = _state()
    probe = {"ms": 4.0, "c": 0.5, "total_ms": 2.0, "total_c": 0.25}
    state.apply(_tick(T0 + 1.0, 0, [], gil_probe=probe))
    unavailable = GilView(source="unavailable", reason="py-spy is not installed")
    live = build_snapshot(state.copy(), Readings(cpu=CPU, gil=unavailable), CONFIG, T0 + 1.1, RunEnd("running"))
    assert (live.gil.source, live.gil.probe_latency_ms, live.gil.probe_contention) == ("probe", 4.0, 0.5)
    assert live.gil.reason == "py-spy is not installed"
    final = build_snapshot(state.copy(), Readings(cpu=CPU, gil=unavailable), CONFIG, T0 + 2.0,
                           RunEnd("timeout", "", T0 + 2.0))
    assert (final.gil.probe_latency_ms, final.gil.probe_contention) == (2.0, 0.25)
    sampled = build_snapshot(state.copy(), Readings(cpu=CPU, gil=GilView(source="py-spy", reason="")), CONFIG,
                             T0 + 1.1, RunEnd("running"))
    assert sampled.gil.source == "py-spy" and sampled.gil.probe_latency_ms == 4.0


def test_the_same_inputs_give_the_same_snapshot():
    state = _state()
    state.apply(_tick(T0 + 1.0, 3, [_row("t:11", "w_0", 0, 11, "running", since=T0 + 0.9)]))
    copy = state.copy()
    a = build_snapshot(copy, Readings(cpu=CPU), CONFIG, T0 + 1.2, RunEnd("running"))
    state.apply(_tick(T0 + 2.0, 9, []))  # the live state moves on; the copy does not
    b = build_snapshot(copy, Readings(cpu=CPU), CONFIG, T0 + 1.2, RunEnd("running"))
    assert a == b
