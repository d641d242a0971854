"""``multiprocessing.Pool`` instrumented: every task timed, through the pool's own API.

A Pool has no ``submit``: ``apply``, ``map``, ``imap``, ``starmap`` (and
their ``_async`` forms) each put one entry on the pool's private task queue,
a list or a generator of ``(job, i, func, args, kwds)`` tasks that its task
handler thread pickles into the workers' pipe one by one; a ``map`` chunk is
one such task (``mapstar`` over the chunk: one IPC round trip).  Its result
handler thread then calls ``cache[job]._set(i, (success, value))``.

``PoolWatch`` hooks exactly those two points of one Pool, leaving everything
else to the pool:

    pool._taskqueue   wrapped: each task becomes ``worker.run_task(task_id,
                      func, args, kwds)`` (``run_light`` when the tracker
                      does not time it) as it is handed to the handler
                      thread, counted (a chunk counts its items) and stamped
                      with the time its call was made
    pool._cache       its ``[job]`` returns a deliverer whose ``_set`` turns
                      the worker's timed result bytes back into the value
                      (``Tracker.record_remote``) before the pool's own
                      result object sees it

The workers get ``worker.init_worker`` as initializer (the program's own is
called from it), so pipe transfer, unpickling, compute and result pickling
are timed in the worker exactly as for ProcessPoolExecutor, and each worker
writes its live state to a slot.

A Pool whose worker dies does not notice: it starts a replacement and the
task that worker held never completes (a ``map`` waits forever; compare
ProcessPoolExecutor's BrokenProcessPool).  The watch finds such a task from
the dead worker's slot and reports the pool as broken with that reason.
When it drives the pool itself (the runner), it also fails the lost task so
the run can end.

Queue depth comes from the pool's own progress: items whose calls were made
but that its task handler has not yet taken (``queued``, not dispatched), and
items taken and written to the pipe but not yet picked up by a worker
(``dispatched``).

Standard library only, Python 3.9 syntax.
"""

from __future__ import annotations

import functools
import itertools
import os
import threading
import time
import weakref
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from . import slots, worker
from .instrument import TIMED_GAP_S, ids_issued

ATTR = "_execscope_watch"
ACTIVE_STATES = {"running", "receiving", "deserializing", "serializing", "sending"}


class WorkerLost(Exception):
    """The worker process running this task died; multiprocessing.Pool would wait for it forever."""


_CHUNK_CALLS = ("mapstar", "starmapstar")
_NOT_PLAIN = _CHUNK_CALLS + ("_helper_reraises_exception",)  # calls _wrap looks into


def _chunk_items(func: Any, args: tuple, name: Optional[str] = None) -> int:
    """Items a Pool task carries: ``mapstar``/``starmapstar`` chunks hold several."""
    if name is None:
        name = getattr(func, "__name__", "")
    if name in _CHUNK_CALLS and len(args) == 1:
        inner = args[0]
        if isinstance(inner, tuple) and len(inner) == 2:
            try:
                return max(1, len(inner[1]))
            except TypeError:
                return 1
    return 1


def _job_of(taskseq: Any) -> Optional[int]:
    """The job a Pool task generator belongs to, before it runs (its argument)."""
    frame = getattr(taskseq, "gi_frame", None)
    if frame is None:
        return None
    job = frame.f_locals.get("result_job")
    return job if isinstance(job, int) else None


class _TaskQueue:
    """The pool's task queue, seen by the pool's methods: wraps each entry."""

    def __init__(self, real: Any, watch: "PoolWatch") -> None:
        self._real = real
        self._watch = watch

    def put(self, entry: Any, *args: Any, **kwargs: Any) -> None:
        if entry is not None:
            entry = self._watch.wrap_entry(entry)
        self._real.put(entry, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _Deliver:
    """What ``cache[job]`` returns to the pool's handler threads."""

    __slots__ = ("watch", "job", "result")

    def __init__(self, watch: "PoolWatch", job: int, result: Any) -> None:
        self.watch, self.job, self.result = watch, job, result

    def _set(self, i: int, obj: Any) -> None:
        watch = self.watch
        record = watch._pending.get((self.job, i))
        if record.__class__ is int and obj[0] and not watch.tracker.closed:
            # A light apply_async call that succeeded (the hot path; only the
            # result handler thread gets here): counted, its end noted.
            # After close it takes unwrap's way, which checks for the end.
            del watch._pending[(self.job, i)]
            watch._light_end = watch.tracker.clock()
            watch._light_ok += 1
        else:
            obj = watch.unwrap(self.job, i, obj)
        if self.result is None:
            raise KeyError(self.job)  # the result object is gone (a failed map): as the pool expects
        self.result._set(i, obj)


def _watched_cache_class(base: type) -> type:
    class WatchedCache(base):  # type: ignore[misc, valid-type]
        def __getitem__(self, job: Any) -> Any:
            watch = self.__dict__.get(ATTR)
            if watch is None:
                return dict.__getitem__(self, job)
            return _Deliver(watch, job, dict.get(self, job))

    WatchedCache.__name__ = base.__name__
    return WatchedCache


_cache_classes: Dict[type, type] = {}


class PoolWatch:
    """One Pool's instrumentation.  Also the object the Tracker polls as its
    "executor": workers, size, queue depths and whether the pool is broken."""

    def __init__(self, pool: Any, start_method: str, owner: bool = False) -> None:
        # A program's pool is held weakly: dropping it must collect it as usual.
        # The runner owns its pool and drives it: it also ends lost tasks.
        self._pool_ref = weakref.ref(pool)
        self._owned = pool if owner else None
        self.start_method = start_method
        self.fail_lost = owner
        self.tracker: Any = None  # set by whoever creates the Tracker on us; task ids are its
        # (job, i) -> (id, t, items, weight); a light apply_async call: its id alone
        self._pending: Dict[Tuple[int, int], Any] = {}
        self._announced: Dict[int, List[Any]] = {}  # job -> [items not yet taken, t_call]
        self._taken = 0  # items the task handler took
        # Light apply_async calls (the hot path, see wrap_entry): taken as
        # they are made, one item each (next() is one C call, no lock), and
        # counted when they succeed by the result handler thread alone;
        # light_count() hands the count to the tracker.
        self._taken_light = itertools.count()
        self._light_ok = 0
        self._light_end = 0.0
        self._light_read = 0
        self._lost: Dict[int, str] = {}  # dead worker pid -> what happened
        self._broken: Any = False
        self._lock = threading.Lock()
        self.closed = False
        self.threads_at_start: Optional[List[str]] = None  # threads alive when the workers were forked
        self.mode = "submit"
        self.chunksize: Optional[int] = None
        self.map_items = 0
        pool._taskqueue = _TaskQueue(pool._taskqueue, self)
        cache = pool._cache
        cls = type(cache)
        if cls not in _cache_classes:
            _cache_classes[cls] = _watched_cache_class(cls)
        cache.__class__ = _cache_classes[cls]
        cache.__dict__[ATTR] = self
        pool.__dict__[ATTR] = self

    @property
    def pool(self) -> Any:
        return self._pool_ref()

    @property
    def alive(self) -> bool:
        return self._pool_ref() is not None

    # -- tasks in ------------------------------------------------------------

    def wrap_entry(self, entry: Any) -> Any:
        if self.tracker is None:
            return entry
        taskseq, set_length = entry
        tracker = self.tracker
        t_call = tracker.clock()
        if type(taskseq) is list:  # apply_async: one task, counted now
            if len(taskseq) != 1:
                return ([self._wrap(task, t_call, None) for task in taskseq], set_length)
            task = taskseq[0]
            task_id = next(tracker._ids)
            # the hot path: a call not timed (Tracker.timed_weight's test, inline)
            if (task_id & tracker._own_mask and tracker._timed_until <= task_id < tracker._next_timed
                    and t_call - tracker._last_timed_t < TIMED_GAP_S
                    and getattr(task[2], "__name__", "") not in _NOT_PLAIN):
                job, i, func, args, kwds = task
                tracker._count_submit(1)
                next(self._taken_light)
                self._pending[(job, i)] = task_id
                return ([(job, i, worker.run_light, (task_id, func, args, kwds), {})], set_length)
            return ([self._wrap(task, t_call, None, task_id)], set_length)
        job = _job_of(taskseq)
        pool = self.pool
        result = dict.get(pool._cache, job) if (pool is not None and job is not None) else None
        value = getattr(result, "_value", None)
        if set_length is None and isinstance(value, list):  # map_async: its length is known now
            self.tracker._count_submit(len(value))
            self.mode, self.chunksize = "map", getattr(result, "_chunksize", None)
            self.map_items += len(value)
            with self._lock:
                self._announced[job] = [len(value), t_call]
            counted = True
        else:  # imap: tasks are counted as the handler takes them
            counted = False
        return ((self._wrap(task, t_call, counted) for task in taskseq), set_length)

    def _wrap(self, task: Any, t_call: float, counted: Optional[bool], task_id: Optional[int] = None) -> Any:
        """One task as the worker gets it.  ``counted``: True when its map
        counted it already, False to count it now that the handler takes it
        (imap), None to count it at its call (apply_async)."""
        job, i, func, args, kwds = task
        name = getattr(func, "__name__", "")
        if name == "_helper_reraises_exception":
            return task  # the pool reporting an error of the iterable itself (its id, if any, unused)
        items = _chunk_items(func, args, name)
        tracker = self.tracker
        if task_id is None:
            task_id = next(tracker._ids)
        t_submit = t_call
        if counted is None:
            tracker._count_submit(items)
        with self._lock:
            self._taken += items
            if self._announced:
                announced = self._announced.get(job)
                if announced is not None:
                    announced[0] -= items
                    if announced[0] <= 0:
                        del self._announced[job]
        if counted is False:
            tracker._count_submit(items)
            t_submit = time.monotonic()
        weight = tracker.timed_weight(task_id, t_submit)
        self._pending[(job, i)] = (task_id, t_submit, items, weight)
        return (job, i, worker.run_task if weight else worker.run_light, (task_id, func, args, kwds), {})

    # -- results out -----------------------------------------------------------

    def unwrap(self, job: int, i: int, obj: Any) -> Any:
        record = self._pending.pop((job, i), None)
        if record is None:
            return obj
        if record.__class__ is int:  # a light apply_async call
            record = (record, 0.0, 1, 0)
        task_id, t_submit, items, weight = record
        success, value = obj
        if not weight:  # a light call: its result is the value itself
            self.tracker.record_light(task_id, items, None if success else value)
            return obj
        t_got = time.monotonic()
        if success:
            ok, out = self.tracker.record_remote(value, None, task_id, items, t_submit, t_got, weight)
        else:
            ok, out = self.tracker.record_remote(None, value, task_id, items, t_submit, t_got, weight)
        return (ok, out)

    # -- what the Tracker polls ----------------------------------------------------

    @property
    def _max_workers(self) -> Optional[int]:
        pool = self.pool
        return getattr(pool, "_processes", None) if pool is not None else None

    @property
    def _processes(self) -> Dict[int, Any]:
        pool = self.pool
        if pool is None:
            return {}
        try:
            return {p.pid: p for p in list(pool._pool) if p.pid is not None}
        except (AttributeError, RuntimeError):
            return {}

    def queue_depths(self) -> Tuple[int, int]:
        """(items whose call was made but the pool's handler has not taken,
        items taken into the pipe that no worker has started)."""
        with self._lock:
            waiting = sum(left for left, _ in self._announced.values())
        t = self.tracker
        running = live_running(t.slots, self._processes) if t is not None else 0
        finished = t.finished if t is not None else 0
        in_pipe = max(0, self._taken + ids_issued(self._taken_light) - finished - running)
        return waiting, in_pipe

    def light_count(self) -> Tuple[int, float]:
        """Light apply_async calls that succeeded since the last call (the
        tracker's, under its lock) and when the last of them ended."""
        ok = self._light_ok  # read before the end: the end is at least theirs
        end = self._light_end
        n, self._light_read = ok - self._light_read, ok
        return n, end

    @property
    def _broken(self) -> Any:
        self._find_lost()
        return self.__dict__.get("_broken_reason", False)

    @_broken.setter
    def _broken(self, value: Any) -> None:
        self.__dict__["_broken_reason"] = value

    def _find_lost(self) -> None:
        """A worker that died holding a task: that task never completes.  Its
        slot still shows the task; the process is gone (it may have died
        before any poll saw it, so its exit code can be unknown)."""
        t = self.tracker
        if t is None or t.slots is None:
            return
        live = self._processes
        for slot in t.slots.read_all():
            pid = int(slot["pid"])
            if pid in live or pid in self._lost or slots.STATE_NAMES.get(int(slot["state"])) not in ACTIVE_STATES:
                continue
            if not _gone(pid):
                continue  # started but not yet listed by the pool
            seen = t._seen_processes.get(pid)
            code = seen.exitcode if seen is not None else None
            if code is None or code < 0:
                how = "was killed by signal %d" % -code if code else "died"
            else:
                how = "exited with code %d" % code
            reason = ("worker pid %d %s while running a task: multiprocessing.Pool starts a replacement but "
                      "never completes that task, so whoever waits for it waits forever" % (pid, how))
            self._lost[pid] = reason
            self._broken = reason
            if self.fail_lost:
                self._fail_task(int(slot["task"]), reason)

    def _fail_task(self, task_id: int, reason: str) -> None:
        pool = self.pool
        for key, record in list(self._pending.items()):
            if (record if record.__class__ is int else record[0]) == task_id and pool is not None:
                try:
                    pool._cache[key[0]]._set(key[1], (False, WorkerLost(reason)))
                except KeyError:
                    pass

    # -- the runner drives the pool through these --------------------------------------

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return (self._owned if self._owned is not None else self.pool).apply_async(fn, args, kwargs)

    def map(self, fn: Callable[..., Any], items: Iterable[Any], chunksize: int, kwargs: Dict[str, Any]) -> Any:
        call = functools.partial(fn, **kwargs) if kwargs else fn
        return self.pool.map_async(call, list(items), chunksize)

    def shutdown(self, wait: bool = True) -> None:
        pool = self.pool
        if pool is None:
            return
        pool.close()
        if wait:
            pool.join()


def live_running(table: Any, live: Dict[int, Any]) -> int:
    """Workers of ``live`` (pid -> process) whose slot says they hold a task."""
    if table is None:
        return 0
    return sum(1 for s in table.read_all()
               if int(s["pid"]) in live and slots.STATE_NAMES.get(int(s["state"])) in ACTIVE_STATES)


def _gone(pid: int) -> bool:
    """The process has exited (or is a zombie waiting to be reaped)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            data = fh.read()
        return data[data.rfind(b")") + 2:][:1] in (b"Z", b"X")
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False


def build(config: Dict[str, Any], run_dir: str) -> PoolWatch:
    """The runner's ``--executor pool``: a Pool with worker instrumentation."""
    import multiprocessing

    method = config["start_method"]
    context = multiprocessing.get_context(method)
    threads = [t.name for t in threading.enumerate()]  # the pool forks its workers before its own threads start
    pool = context.Pool(processes=config.get("workers"), initializer=worker.init_worker,
                        initargs=(run_dir, os.getpid(), method))
    watch = PoolWatch(pool, method, owner=True)
    watch.threads_at_start = threads
    return watch
