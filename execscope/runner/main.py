"""The runner: one fresh process per run, started by the execscope session.

It resolves the workload, builds the executor, submits the tasks and streams
telemetry (see ``execscope.protocol``) to the parent over an inherited pipe,
about ten times a second.  It never draws anything and never samples itself:
the parent does that from outside.

Its main thread owns the telemetry: it submits, then sleeps on an Event with a
0.1 s timeout, waking to poll the tracker and write one ``tick``.  Adding a
telemetry thread would put one more thread in the GIL contention we measure
and in the process that ``fork`` copies.

Lifecycle: the runner leads its own process group (the session starts it with
``start_new_session``), so the session can end every worker with one
``killpg``.  If the session itself dies, the next tick's write fails with
EPIPE (or ``getppid`` changes) and the runner kills its own group; process
workers also hold ``PR_SET_PDEATHSIG`` so they die with the runner.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import warnings
from typing import Any, Dict, Optional

from ..families import family, is_isolated, missing_requirement, python_problem, supports, uses_processes
from ..machine import cpu_info
from . import gilprobe, instrument, lifecycle, probes, resolve, slots, worker
from .channel import Channel, ParentGone, interpreter_info  # noqa: F401 (re-exported)

TICK_S = 0.1


def build_executor(config: Dict[str, Any], run_dir: str) -> Any:
    """The executor of the run: serial, thread and process here, any other
    family by its own adapter module (imported only when chosen)."""
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    kind = config["executor"]
    adapter = family(kind).adapter
    if adapter is not None:
        import importlib

        return importlib.import_module(adapter).build(config, run_dir)
    workers = config.get("workers")
    if kind == "serial":
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="serial")
    if kind == "thread":
        return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="worker")
    import multiprocessing

    context = multiprocessing.get_context(config["start_method"])
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=worker.init_worker,
        initargs=(run_dir, os.getpid(), config["start_method"]),
    )


def _check_picklable(fn: Any) -> Optional[str]:
    import pickle

    try:
        pickle.dumps(fn)
    except Exception as exc:
        return ("%s cannot be pickled for a process or interpreter pool (%s): define it at module level"
                % (getattr(fn, "__qualname__", repr(fn)), type(exc).__name__))
    return None


def run(config: Dict[str, Any], channel: Channel) -> str:
    run_dir = config["run_dir"]
    try:
        workload = resolve.resolve(config["workload"])
        params = resolve.resolve_params(workload, config.get("params", {}))
    except (resolve.SpecError, resolve.ParamError) as exc:
        channel.send("fatal", kind="usage", message=str(exc))
        return "fatal"
    for module in workload.requires:
        try:
            __import__(module)
        except ImportError:
            channel.send("fatal", kind="usage", message="workload %r needs %s, which %s cannot import"
                         % (workload.name, module, sys.executable))
            return "fatal"
    kind = config["executor"]
    problem = missing_requirement(kind)
    if problem:
        channel.send("fatal", kind="usage", message=problem)
        return "fatal"
    if not supports(kind, workload.executors):
        channel.send("fatal", kind="usage", message="workload %s cannot run under --executor %s (supported: %s)"
                     % (workload.name, kind, ", ".join(workload.executors)))
        return "fatal"
    problem = python_problem(kind, sys.version_info, sys.executable)
    if problem:
        channel.send("fatal", kind="usage", message=problem)
        return "fatal"
    if is_isolated(kind):
        problem = _check_picklable(workload.task)
        if problem:
            channel.send("fatal", kind="usage", message=problem)
            return "fatal"

    try:
        context = workload.prepare(params) if workload.prepare else {}
    except Exception as exc:
        channel.send("fatal", kind="workload", message="preparing %s failed: %s"
                     % (workload.name, instrument.describe_exception(exc)))
        return "fatal"
    task_kwargs = dict(params)
    task_kwargs.update({k: v for k, v in context.items() if not k.startswith("_")})
    try:
        return _execute(config, channel, workload, params, task_kwargs, run_dir)
    finally:
        if workload.cleanup:
            try:
                workload.cleanup(context)
            except Exception:
                pass


def _execute(config: Dict[str, Any], channel: Channel, workload: Any, params: Dict[str, Any],
             task_kwargs: Dict[str, Any], run_dir: str) -> str:
    from execscope.workloads import _runtime

    kind = config["executor"]
    remote = uses_processes(kind)
    isolated = is_isolated(kind)
    table = None
    if remote:
        slots.create(run_dir)
        table = slots.SlotTable(run_dir)
    t_create = time.monotonic()
    executor = build_executor(config, run_dir)
    tracker = instrument.Tracker(executor, kind, table, deliver_results=False)
    # An adapter (multiprocessing.Pool...) takes tasks through its own API and
    # reports them to the tracker; the classic executors go through the tracker.
    driver: Any = tracker
    if hasattr(executor, "tracker"):
        executor.tracker = tracker
        driver = executor
    marks = []
    _runtime.install(tracker if not isolated else None,
                     lambda name, t, data: marks.append({"name": name, "t": t, "data": data}))
    channel.send(
        "pool",
        t=t_create,
        max_workers=probes.max_workers(executor),
        default_max_workers=probes.default_max_workers("process" if remote else "thread"),
        threads=[t.name for t in threading.enumerate()],
    )
    # GIL ground truth (see gilprobe): thread and serial executors only, so
    # the probe is never a thread that a process pool's fork would copy (and
    # it reads the main interpreter's GIL, which interpreter workers do not hold).
    probe = gilprobe.GilProbe().start() if not isolated and gilprobe.enabled() else None

    n_tasks = config.get("tasks")
    duration = config.get("duration")
    items = list(range(n_tasks)) if n_tasks is not None else None
    fn = workload.task
    last_tick = 0.0

    def tick(final: bool = False) -> None:
        nonlocal last_tick
        channel.check_parent()
        state = tracker.poll()
        for error in tracker.drain_errors():
            channel.send("error", **error)
        while marks:
            channel.send("mark", **marks.pop(0))
        if remote:
            for pid, code in tracker.new_exits():
                channel.send("exit", pid=pid, exitcode=code, t=time.monotonic())
        state["t"] = time.monotonic()
        state["totals"] = tracker.totals()
        state["threads"] = threading.active_count()
        state["final"] = final
        state["broken"] = bool(probes.pool_broken(executor))
        state["gil_probe"] = probe.report() if probe is not None else None
        if getattr(executor, "unavailable", None):  # what this executor family cannot measure (Dask)
            state["unavailable"] = executor.unavailable
        state["own_cost"] = tracker.own_cost()
        channel.send("tick", **state)
        last_tick = time.monotonic()

    first_threads = None
    try:
        if workload.mode == "map" and items is not None:
            chunksize = int(params.get("chunksize", 1))
            first_threads = [t.name for t in threading.enumerate()]
            if driver is tracker:
                tracker.map_chunks(fn, items, chunksize, task_kwargs)
            else:
                driver.map(fn, items, chunksize, task_kwargs)
        elif items is not None:
            first_threads = [t.name for t in threading.enumerate()]

            def tick_due() -> None:
                if time.monotonic() - last_tick >= TICK_S:
                    tick()

            if driver is tracker:
                tracker.submit_all(fn, items, task_kwargs, between=tick_due)
            else:
                for i in items:
                    driver.submit(fn, i, **task_kwargs)
                    tick_due()
        else:
            first_threads = [t.name for t in threading.enumerate()]
            _submit_for(duration, tracker, driver, fn, task_kwargs, tick)
        # A Pool forks its workers when it is made, not at the first submit.
        first_threads = getattr(executor, "threads_at_start", None) or first_threads
        channel.send("submitted", t=time.monotonic(), threads_at_first_submit=first_threads)
        tracker.close_submission()
        while not tracker.all_done.wait(max(0.0, TICK_S - (time.monotonic() - last_tick))):
            tick()
            if tracker.check_done():
                break
            if probes.pool_broken(executor) and _settled(tracker, executor):
                break
        tick()
        executor.shutdown(wait=True)
        tick(final=True)
    except ParentGone:
        raise
    finally:
        if probe is not None:
            probe.stop()
    status = "completed" if tracker.failed == 0 and tracker.finished >= tracker.submitted else "failed"
    broken = probes.pool_broken(executor)
    reason = ""
    if broken:
        reason = broken if isinstance(broken, str) else "the process pool is broken: a worker died"
        status = "failed"
    elif tracker.failed:
        reason = "%d task(s) failed" % tracker.failed
    channel.send("done", t=time.monotonic(), status=status, reason=reason)
    if table is not None:
        table.close()
    return status


def _settled(tracker: instrument.Tracker, executor: Any) -> bool:
    # A broken pool fails every pending future; give the callbacks a moment.
    return tracker.finished >= tracker.submitted


def _submit_for(duration: float, tracker: instrument.Tracker, driver: Any, fn: Any, kwargs: Dict[str, Any],
                tick: Any) -> None:
    """Keep the executor fed for ``duration`` seconds, a bounded backlog ahead."""
    workers = probes.max_workers(tracker.executor) or 1
    backlog = max(2 * workers, workers + 8)
    end = time.monotonic() + duration
    i = 0
    last = 0.0
    while time.monotonic() < end:
        while tracker.submitted - tracker.finished < backlog and time.monotonic() < end:
            driver.submit(fn, i, **kwargs)
            i += 1
        now = time.monotonic()
        if now - last >= TICK_S:
            tick()
            last = now
        time.sleep(min(0.005, max(0.0, end - now)))


def _forward_warnings(channel: Channel) -> None:
    def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        try:
            channel.send("warn", t=time.monotonic(), category=category.__name__,
                         message=str(message), where="%s:%s" % (filename, lineno))
        except ParentGone:
            pass

    warnings.showwarning = show
    warnings.simplefilter("always", DeprecationWarning)


def main(argv: Optional[list] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    config = json.loads(argv[0])
    channel = Channel(int(config["fd"]), int(config["parent_pid"]))
    # Let the execscope process's py-spy samplers attach to us and to the
    # pool's workers under Yama ptrace_scope=1 (see gilprobe).
    gilprobe.allow_tracer(channel.parent_pid)
    os.environ[gilprobe.TRACER_ENV] = str(channel.parent_pid)
    # The parent handles Ctrl-C for the whole run; a terminal's SIGINT reaches
    # only the foreground group, but be explicit.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lifecycle.become_subreaper()
    _forward_warnings(channel)
    try:
        channel.send("hello", pid=os.getpid(), pgid=os.getpgid(0), t=time.monotonic(),
                     interpreter=interpreter_info(), machine=cpu_info())
        status = run(config, channel)
    except ParentGone:
        lifecycle.kill_tree_and_exit()
        return 3
    except BaseException as exc:  # anything unexpected: say it, then leave
        import traceback

        try:
            channel.send("fatal", kind="runner", message=instrument.describe_exception(exc),
                         traceback=traceback.format_exc())
        except ParentGone:
            pass
        lifecycle.kill_tree_and_exit()
        return 4
    lifecycle.kill_leftovers()
    return 0 if status in ("completed", "failed") else 2


