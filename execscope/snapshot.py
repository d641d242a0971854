"""Building a Snapshot: a pure function of what was read, no clock, no I/O.

    build_snapshot(state: StateCopy,     what the run's telemetry said (RunState.copy())
                   readings: Readings,   the samplers' readings at this tick
                   config: BuildConfig,  the run's fixed facts (config, launch time...)
                   t: float,             now, on the time.monotonic() clock
                   end: RunEnd)          the session's status (and when it ended)
        -> Snapshot

The session calls it every tick; the source then adds what only it knows
(``Source.decorate``, with ``worker_views`` for an executor's rows) and the
detectors run (``Source.evaluate``).  tests/test_snapshot.py builds
snapshots on a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Dict, List, Mapping, Optional

from . import protocol
from .metrics import windowed_rate
from .model import FINAL_STATUSES, Counts, CpuView, GilView, RunConfig, Snapshot, WorkerView
from .runstate import StateCopy
from .sampling.cpu import CpuReading
from .sampling.sched import SchedReading


@dataclass(frozen=True)
class Readings:
    """The samplers' readings at one tick."""

    cpu: CpuReading
    sched: Optional[SchedReading] = None  # None where /proc cannot tell
    gil: GilView = GilView()  # the GIL sampler's view (the runner's probe is merged in here)


@dataclass(frozen=True)
class BuildConfig:
    """What stays the same for a whole run."""

    config: RunConfig
    t_launch: float
    target_pid: Optional[int] = None  # the runner, the program, or the attached process
    ends_at_last_task: bool = True  # a finished runner's wall time ends at its last task
    workload_summary: str = ""
    submit_mode: str = "submit"  # submit | map
    chunksize: Optional[int] = None  # map only


@dataclass(frozen=True)
class RunEnd:
    """The session's verdict so far."""

    status: str = "starting"
    reason: str = ""
    t_final: float = 0.0  # when the status became final (time.monotonic())


def build_snapshot(state: StateCopy, readings: Readings, config: BuildConfig, t: float,
                   end: RunEnd = RunEnd()) -> Snapshot:
    tick, hello, pool = state.tick, state.hello, state.pool
    t0 = config.t_launch
    t_pool = pool.get("t")
    counts = Counts(
        submitted=tick.get("submitted", 0),
        queued=tick.get("queued", 0),
        dispatched=tick.get("dispatched", 0),
        running=tick.get("running", 0),
        blocked=tick.get("blocked", 0),
        completed=tick.get("completed", 0),
        failed=tick.get("failed", 0),
    )
    runner_now = tick.get("t", t)
    if end.status in ("completed", "failed") and state.last_end and config.ends_at_last_task:
        t_end = state.last_end
    elif end.status in FINAL_STATUSES:
        t_end = end.t_final
    else:
        t_end = t
    run_elapsed = max(0.0, t_end - t_pool) if t_pool else 0.0
    gil = gil_view(readings.gil, tick, end.status in FINAL_STATUSES)
    workers = tuple(worker_views(tick, readings, gil, runner_now, t_pool, state.worker_started, config))
    machine = dict(hello.get("machine", {}))
    cpu = readings.cpu
    sched = readings.sched
    cpu_view = CpuView(
        per_core=cpu.per_core,
        total_percent=cpu.total_percent,
        tree_percent=cpu.tree_percent,
        logical_cpus=machine.get("logical_cpus", len(cpu.per_core)),
        usable_cpus=machine.get("usable_cpus", len(cpu.per_core)),
        affinity_cpus=machine.get("affinity_cpus"),
        cgroup_cpu_limit=machine.get("cgroup_cpu_limit"),
        tree_rss_bytes=cpu.tree_rss_bytes,
        tree_uss_bytes=cpu.tree_uss_bytes,
        tree_threads=sched.total_threads if sched is not None else None,
        runnable_threads=sched.total_runnable if sched is not None else None,
    )
    return Snapshot(
        config=config.config,
        t_s=t - t0,
        status=end.status if end.status != "starting" or not tick else "running",
        reason=end.reason,
        interpreter=hello.get("interpreter", {}),
        machine=machine,
        max_workers=pool.get("max_workers"),
        default_max_workers=pool.get("default_max_workers"),
        run_elapsed_s=run_elapsed,
        counts=counts,
        expected_tasks=config.config.tasks,
        queue_source=tick.get("queue_source", "executor"),
        workers=workers,
        throughput_per_s=windowed_rate(list(state.rates), runner_now),
        mean_throughput_per_s=(counts.finished / run_elapsed) if run_elapsed > 0 else 0.0,
        latency_s=state.latency,
        breakdown=state.breakdown,
        ipc_bytes_sent=state.bytes_out,
        ipc_bytes_received=state.bytes_in,
        cpu=cpu_view,
        gil=gil,
        alerts=(),
        runner_threads=tick.get("threads", 0),
        first_error=state.first_error,
        startup_s=(t_pool - t0) if t_pool else None,
        first_task_start_s=((state.first_begin - state.first_submit)
                            if state.first_begin and state.first_submit else None),
        workload_summary=config.workload_summary,
        mode=config.submit_mode,
        chunksize=config.chunksize,
        threads_at_first_submit=state.fork_threads,
        warnings=state.warnings,
        worker_exits=tuple((pid, code) for pid, code, _ in state.exits),
        worker_exit_t_s=tuple(t_exit - t0 for _, _, t_exit in state.exits),
        pool_broken=bool(tick.get("broken")),
    )


def gil_view(sampled: GilView, tick: Mapping[str, Any], final: bool) -> GilView:
    """The sampler's view with the runner's probe (runner/gilprobe.py): live
    figures over the last second, whole-run figures once the run is over.
    When py-spy could not sample, the probe is the source and the reason says why."""
    probe = tick.get("gil_probe")
    if not probe:
        return sampled
    view = replace(sampled, probe_latency_ms=probe.get("total_ms" if final else "ms"),
                   probe_contention=probe.get("total_c" if final else "c"))
    if view.source == "unavailable" and view.probe_latency_ms is not None:
        view = replace(view, source="probe")
    return view


def worker_views(tick: Mapping[str, Any], readings: Readings, gil: GilView, runner_now: float,
                 t_pool: Optional[float], started: Mapping[str, float],
                 config: BuildConfig) -> List[WorkerView]:
    """One WorkerView per worker row of ``tick`` (a runner tick, or one executor's entry)."""
    I = protocol.WORKER_INDEX
    cpu, states = readings.cpu, readings.sched
    by_tid = {t.tid: t for t in gil.threads if t.tid}
    by_pid_main: Dict[int, Any] = {}
    for t in gil.threads:
        by_pid_main.setdefault(t.pid, t)
    views = []
    for row in tick.get("workers", ()):
        key = row[I["key"]]
        is_process = key.startswith("p:")
        pid, tid = row[I["pid"]], row[I["tid"]]
        cpu_percent = cpu.per_pid.get(pid) if is_process else cpu.per_tid.get(tid)
        g = by_pid_main.get(pid) if is_process else by_tid.get(tid)
        since = row[I["since"]]
        t_started = started.get(key) or row[I["t_started"]]
        views.append(WorkerView(
            key=key,
            label=row[I["label"]],
            kind="process" if is_process else "thread",
            pid=pid,
            tid=tid,
            state=row[I["state"]],
            task=row[I["task"]],
            state_age_s=max(0.0, runner_now - since) if since else 0.0,
            done=row[I["done"]],
            busy_s=row[I["busy_s"]],
            blocked_on=row[I["blocked_on"]],
            cpu_percent=cpu_percent,
            gil_held=g.held if g else None,
            gil_wait=g.wait if g else None,
            gil_released=g.released if g else None,
            gil_wait_range=g.wait_range if g else None,
            startup_s=(t_started - t_pool) if (t_started and t_pool) else None,
            since_s=(since - config.t_launch) if since else None,
            threads=states.threads(pid) if (states is not None and is_process) else None,
            runnable=(None if states is None else states.runnable_in(pid) if is_process
                      else states.thread_runnable(pid or config.target_pid or 0, tid)),
            voluntary_switches=states.voluntary(tid) if (states is not None and not is_process) else None,
        ))
    return views

