"""Dask ``distributed``: its tasks timed from Dask's own measurements, through its plugin interfaces.

Dask is an engine of its own (a scheduler, worker processes, TCP between
them), so nothing of the other process families' pipe instrumentation
applies.  ``DaskWatch`` watches one ``Client`` through two plugins:

    _SchedulerEvents   a scheduler plugin, in the process that runs the
                       scheduler (the runner's, or a program's own
                       ``LocalCluster``): every task transition.  A task
                       that reaches ``memory`` comes with the worker's own
                       ``startstops`` (compute, and ``transfer`` of inputs
                       fetched from other workers); ``erred`` with the
                       exception text
    _WorkerSlots       a worker plugin Dask installs on every worker (and on
                       every replacement): the worker's live state in a slot
                       of the run's slot table (``runner.slots``), as a
                       process-pool worker writes it: executing a task or
                       idle, tasks done, busy seconds

The per-task breakdown is what Dask measures and nothing else:

    queue     from the task's submission (the runner) or its arrival at the
              scheduler (a program's tasks) to the start of its compute: the
              wait for a worker, and the task's own way to it (Dask does
              not time that hand-off on its own)
    transfer  inputs fetched from other workers (Dask's ``transfer``);
              arguments sent with the task travel inside ``queue``
    compute   Dask's ``compute`` start and stop, taken by the worker
    serialize, deserialize and the result's way back: unavailable (Dask
              does not time them per task; a result stays in the worker's
              memory until someone gathers it)

Queue depth: tasks submitted and not yet executing, split into those not
yet assigned to a worker (the scheduler's ``waiting``/``queued``/
``no-worker``, and the ones on their way to the scheduler) and those
assigned to a worker (``processing``) that has not started them.

Standard library only at import time; ``distributed`` is imported when a
watch is built (``--executor dask``, or a program that made a Client).
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterable, Optional, Tuple

from . import slots
from .instrument import Phases
from .mp_pool import ACTIVE_STATES, live_running

KEY_PREFIX = "execscope-"
# What a Dask run cannot show, by the name the report and the JSON use (Snapshot.unavailable).
_NOT_TIMED = ("Dask times each task's compute and its inputs' transfers between workers; it does not "
              "time (de)serialization or the result's way back per task")
UNAVAILABLE = tuple((name, _NOT_TIMED) for name in (
    "serialize", "deserialize", "result_serialize", "result_transfer", "result_deserialize")) + (
    ("ipc", "Dask moves tasks and results over its own TCP connections: their bytes are not measured per task"),)
_NOT_ASSIGNED = {"released", "waiting", "queued", "no-worker"}


def _task_id(key: Any) -> int:
    if isinstance(key, str) and key.startswith(KEY_PREFIX):
        try:
            return int(key[len(KEY_PREFIX):])
        except ValueError:
            return -1
    return -1


def _wall_to_monotonic() -> float:
    """What to subtract from a worker's ``time.time()`` to get this machine's monotonic clock."""
    return time.time() - time.monotonic()


def _plugin_classes() -> Tuple[type, type]:
    """The two plugin classes, built once distributed is imported (their bases are its)."""
    global _PLUGINS
    if _PLUGINS is None:
        from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin

        class SchedulerEvents(SchedulerPlugin):  # type: ignore[misc, valid-type]
            name = "execscope-events"

            def __init__(self, watch: "DaskWatch") -> None:
                self.watch = watch

            def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
                self.watch.on_transition(key, start, finish, kwargs)

        worker_slots = type("DaskWorkerSlots", (WorkerSlots, WorkerPlugin), {"__module__": __name__})
        globals()["DaskWorkerSlots"] = worker_slots  # pickled by reference: found again in the worker
        _PLUGINS = (SchedulerEvents, worker_slots)
    return _PLUGINS


_PLUGINS: Optional[Tuple[type, type]] = None


class WorkerSlots:
    """The worker plugin's behaviour; its class (``DaskWorkerSlots``, also a
    ``WorkerPlugin``) is made by ``_plugin_classes``."""

    name = "execscope-slots"

    def __init__(self, slot_dir: str) -> None:
        self.slot_dir = slot_dir
        self._table: Optional[slots.SlotTable] = None
        self._done = 0
        self._busy = 0.0
        self._since = 0.0

    def __getstate__(self) -> Dict[str, Any]:
        return {"slot_dir": self.slot_dir}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__init__(state["slot_dir"])  # type: ignore[misc]

    def setup(self, worker: Any = None) -> None:
        from .lifecycle import set_parent_death_signal

        set_parent_death_signal()  # the nanny's process (the runner, or the program) owns us
        table = slots.SlotTable(self.slot_dir)
        if table.claim() is None:
            table.close()
            return
        now = time.monotonic()
        table.write(pid=os.getpid(), state=slots.IDLE, task=-1, since=now, t_started=now)
        self._table = table

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        table = self._table
        if table is None:
            return
        now = time.monotonic()
        if finish == "executing":
            self._since = now
            table.state(slots.RUNNING, _task_id(key), now)
        elif start == "executing":
            self._done += 1
            self._busy += now - self._since
            table.finished(now, self._done, self._busy)

    def teardown(self, worker: Any = None) -> None:
        if self._table is not None:
            self._table.close()
            self._table = None


def __getattr__(name: str) -> Any:  # a worker unpickling the plugin before anything built the class
    if name == "DaskWorkerSlots":
        return _plugin_classes()[1]
    raise AttributeError(name)


class _Exit:
    """A worker process as Tracker.new_exits sees it: a pid and an exit code."""

    __slots__ = ("process",)

    def __init__(self, process: Any) -> None:
        self.process = process

    @property
    def exitcode(self) -> Optional[int]:
        try:
            return self.process.exitcode
        except Exception:
            return None


class DaskWatch:
    """One Client's tasks and workers.  Also the object the Tracker polls as its
    "executor": workers, size, queue depths (as ``mp_pool.PoolWatch``)."""

    def __init__(self, client: Any, cluster: Any, slot_dir: str, owner: bool = False) -> None:
        import dask

        self.client = client
        self.cluster = cluster
        self.owner = owner
        self.tracker: Any = None  # set by whoever creates the Tracker on us
        self.start_method = dask.config.get("distributed.worker.multiprocessing-method", "spawn")
        self.threads_at_start: Optional[list] = None
        self.mode = "submit"
        self.chunksize: Optional[int] = None
        self.map_items = 0
        self.closed = False
        self.unavailable = UNAVAILABLE
        self._lock = threading.Lock()
        self._tasks: Dict[Any, Tuple[int, float]] = {}  # key -> (task id, t submitted)
        self._state: Dict[Any, str] = {}  # key -> scheduler state, until it ends
        self._processing = 0
        self._ended: set = set()
        self._futures: Dict[Any, Any] = {}  # the runner's own futures, released once done
        self._release: Deque[Any] = deque()
        self._offset = _wall_to_monotonic()
        scheduler_events, worker_slots = _plugin_classes()
        scheduler = getattr(cluster, "scheduler", None)
        if scheduler is None or not hasattr(scheduler, "add_plugin"):
            raise RuntimeError("the scheduler runs in another process: its task events cannot be seen here")
        self.scheduler = scheduler
        self._plugin_name = "execscope-events-%d" % id(self)
        scheduler.add_plugin(scheduler_events(self), name=self._plugin_name)
        client.register_plugin(worker_slots(slot_dir), name="execscope-slots-%d" % id(self))

    # -- tasks in (the runner) ---------------------------------------------------------

    def _new_key(self, t_submit: float) -> str:
        task_id = next(self.tracker._ids)
        key = KEY_PREFIX + str(task_id)
        with self._lock:
            self._tasks[key] = (task_id, t_submit)
        return key

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        call = functools.partial(fn, **kwargs) if kwargs else fn  # its names never meet submit's own
        self.tracker._count_submit(1)
        key = self._new_key(time.monotonic())
        future = self.client.submit(call, *args, key=key, pure=False)
        self._futures[key] = future
        return future

    def map(self, fn: Callable[..., Any], items: Iterable[Any], chunksize: int, kwargs: Dict[str, Any]) -> Any:
        """Dask has no chunks: one task per item (``chunksize`` does not apply)."""
        call = functools.partial(fn, **kwargs) if kwargs else fn
        items = list(items)
        self.tracker._count_submit(len(items))
        self.mode, self.map_items = "map", self.map_items + len(items)
        t_submit = time.monotonic()
        keys = [self._new_key(t_submit) for _ in items]
        futures = self.client.map(call, items, key=keys, pure=False)
        self._futures.update(zip(keys, futures))
        return futures

    # -- what the scheduler says (its event loop's thread) ------------------------------

    def on_transition(self, key: Any, start: str, finish: str, kwargs: Dict[str, Any]) -> None:
        tracker = self.tracker
        if tracker is None or key in self._ended:
            return
        with self._lock:
            record = self._tasks.get(key)
            if record is None:  # a program's task: counted as it reaches the scheduler
                if finish == "forgotten":
                    return
                record = self._tasks[key] = (next(tracker._ids), time.monotonic())
                tracker._count_submit(1)
            if start == "processing":
                self._processing -= 1
            if finish == "processing":
                self._processing += 1
            self._state[key] = finish
        if finish == "memory":
            self._completed(key, record, kwargs.get("startstops") or ())
        elif finish == "erred":
            text = kwargs.get("exception_text") or "the task failed"
            self._failed(key, record, text, kwargs.get("traceback_text") or "")
        elif finish == "forgotten":
            self._failed(key, record, "cancelled before it ran", "")

    def _end(self, key: Any) -> None:
        with self._lock:
            self._ended.add(key)
            self._tasks.pop(key, None)
            self._state.pop(key, None)
        self._release.append(key)

    def _completed(self, key: Any, record: Tuple[int, float], startstops: Iterable[Dict[str, Any]]) -> None:
        task_id, t_submit = record
        t_got = time.monotonic()
        compute = transfer = 0.0
        t_begin = t_end = None
        for span in startstops:
            start, stop = span.get("start", 0.0) - self._offset, span.get("stop", 0.0) - self._offset
            if span.get("action") == "compute":
                compute += stop - start
                t_begin = start if t_begin is None else min(t_begin, start)
                t_end = stop if t_end is None else max(t_end, stop)
            elif span.get("action") == "transfer":
                transfer += stop - start
        if t_begin is None:  # no compute span (Dask says nothing of it): the scheduler's moment
            t_begin = t_end = t_got
        t_begin = max(t_begin, t_submit)
        phases = Phases(queue=max(0.0, t_begin - t_submit - transfer), ser=0.0, xfer=transfer, deser=0.0,
                        compute=compute, rser=0.0, rxfer=0.0, rdeser=0.0)
        self._end(key)
        tracker = self.tracker
        with tracker._lock:
            tracker._remote_totals.add(1, 1, t_submit, t_begin, max(t_end or t_got, t_begin), phases, 0, 0)
        tracker._end_check(task_id)

    def _failed(self, key: Any, record: Tuple[int, float], message: str, text: str) -> None:
        task_id, t_submit = record
        t_got = time.monotonic()
        self._end(key)
        tracker = self.tracker
        tracker._report_error(task_id, None, message, text)
        phases = Phases(max(0.0, t_got - t_submit), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        with tracker._lock:
            tracker._remote_totals.add(1, 0, t_submit, t_got, t_got, phases, 0, 0)
        tracker._end_check(task_id)

    # -- what the Tracker polls ---------------------------------------------------------

    @property
    def _max_workers(self) -> Optional[int]:
        workers = getattr(self.cluster, "workers", None)
        if isinstance(workers, dict) and workers:
            return len(workers)
        return len(getattr(self.scheduler, "workers", {})) or None

    @property
    def _processes(self) -> Dict[int, Any]:
        """The worker processes the cluster's nannies run, by pid."""
        out: Dict[int, Any] = {}
        workers = getattr(self.cluster, "workers", None)
        if not isinstance(workers, dict):
            return out
        for nanny in list(workers.values()):
            process = getattr(getattr(nanny, "process", None), "process", None)
            pid = getattr(process, "pid", None)
            if pid is not None and getattr(process, "exitcode", None) is None:
                out[pid] = _Exit(process)
        return out

    _broken = False  # Dask reschedules a lost worker's tasks itself (and fails a task that kills workers)

    def queue_depths(self) -> Tuple[int, int]:
        """(submitted tasks no worker has been given, tasks a worker holds but has not started)."""
        while self._release:
            self._futures.pop(self._release.popleft(), None)
        t = self.tracker
        if t is None:
            return 0, 0
        running = live_running(t.slots, self._processes)
        with self._lock:
            processing = self._processing
        unfinished = max(0, t.submitted - t.finished)
        assigned = min(max(0, processing), unfinished)
        return max(0, unfinished - assigned), max(0, assigned - running)

    def shutdown(self, wait: bool = True) -> None:
        self.closed = True
        self._futures.clear()
        self._release.clear()
        try:
            self.scheduler.remove_plugin(name=self._plugin_name)
        except Exception:  # already gone with its scheduler
            pass
        if self.owner:
            close(self.client, self.cluster)


def close(client: Any, cluster: Any) -> None:
    for part in (client, cluster):
        if part is None:
            continue
        try:
            part.close()
        except Exception:
            pass


def build(config: Dict[str, Any], run_dir: str) -> DaskWatch:
    """The runner's ``--executor dask``: a LocalCluster of worker processes on
    127.0.0.1 only (one thread each), no dashboard, a client of its own."""
    import logging

    from distributed import Client, LocalCluster

    workers = config.get("workers") or os.cpu_count() or 1
    threads = [t.name for t in threading.enumerate()]
    cluster = client = None
    try:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               scheduler_port=0, dashboard_address=None, worker_dashboard_address=None,
                               silence_logs=logging.ERROR)
        client = Client(cluster, set_as_default=False)
        watch = DaskWatch(client, cluster, run_dir, owner=True)
    except BaseException:
        close(client, cluster)
        raise
    watch.threads_at_start = threads
    return watch
