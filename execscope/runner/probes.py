"""Every read of CPython's private executor internals, in one place.

``concurrent.futures`` exposes no queue depth and no worker list, but the
executors keep them in private attributes that are exact.  They have been
stable from 3.9 to 3.13 (checked against each version's ``thread.py`` and
``process.py``); 3.14 keeps the names used here while reworking the thread
pool's work items around a per-worker context.  Every probe below tolerates the
attribute being absent and then says so, so that a future CPython degrades to
our own counts (``source: "instrumentation"``) instead of crashing.

ThreadPoolExecutor (3.9-3.14)::

    _work_queue     queue.SimpleQueue of _WorkItem   items not yet taken by a thread
    _threads        set of threading.Thread          grows lazily up to _max_workers
    _max_workers    int                              min(32, cpu + 4) by default

ProcessPoolExecutor (3.9-3.14)::

    _pending_work_items  {work_id: _WorkItem}    submitted and not yet done
    _work_ids            queue.Queue of work_id  submitted, not yet dispatched
    _call_queue          _SafeQueue(max_workers + 1)  dispatched, not yet read
                         by a worker; qsize() needs sem_getvalue (not macOS)
    _processes           {pid: Process}          live workers (None before start)
    _max_workers         int                     os.cpu_count() (3.13+:
                                                 os.process_cpu_count())

A process-pool future turns RUNNING when the manager thread moves it into
``_call_queue``, *before* any worker has it: we call that state "dispatched".
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional, Tuple

PY = sys.version_info[:2]


def max_workers(executor: Any) -> Optional[int]:
    value = getattr(executor, "_max_workers", None)
    return value if isinstance(value, int) else None


def thread_queue_depth(executor: Any) -> Optional[int]:
    queue = getattr(executor, "_work_queue", None)
    if queue is None:
        return None
    try:
        return queue.qsize()
    except Exception:
        return None


def pool_threads(executor: Any) -> List[Any]:
    threads = getattr(executor, "_threads", None)
    if threads is None:
        return []
    try:
        return list(threads)
    except RuntimeError:  # set changed size while copying (free-threaded)
        return []


def process_queue_depths(executor: Any) -> Tuple[Optional[int], Optional[int]]:
    """(not yet dispatched, dispatched but not yet read by a worker).  An
    adapter for another executor family answers through ``queue_depths()``."""
    own = getattr(executor, "queue_depths", None)
    if own is not None:
        return own()
    undispatched = dispatched = None
    work_ids = getattr(executor, "_work_ids", None)
    if work_ids is not None:
        try:
            undispatched = work_ids.qsize()
        except Exception:
            undispatched = None
    call_queue = getattr(executor, "_call_queue", None)
    if call_queue is not None:
        try:
            dispatched = call_queue.qsize()
        except (NotImplementedError, Exception):
            dispatched = None
    return undispatched, dispatched


def pool_processes(executor: Any) -> Dict[int, Any]:
    processes = getattr(executor, "_processes", None)
    if not processes:
        return {}
    try:
        return dict(processes)
    except RuntimeError:
        return {}


def pool_broken(executor: Any) -> Any:
    """False, or the reason string / True CPython stores when a pool breaks."""
    return getattr(executor, "_broken", False)


def default_max_workers(kind: str) -> int:
    """What this interpreter's executor picks when max_workers is None (C4)."""
    import os

    count_fn = getattr(os, "process_cpu_count", None) if PY >= (3, 13) else None
    cpus = (count_fn() if count_fn else os.cpu_count()) or 1
    if kind == "thread":
        return min(32, cpus + 4)
    return cpus


def future_succeeded(future: Any) -> bool:
    """A finished ``concurrent.futures.Future`` holds a result (False: look
    closer with ``future_error``)."""
    return getattr(future, "_state", None) == "FINISHED" and getattr(future, "_exception", True) is None


def future_error(future: Any) -> Optional[BaseException]:
    """What a finished ``concurrent.futures.Future`` failed with (its
    exception, CancelledError when cancelled), else None; read from its
    fields in a done callback, where taking its condition again would only
    cost time (``_exception`` and ``_state``: 3.9-3.14)."""
    try:
        error = future._exception
        state = future._state
    except AttributeError:  # another Future: ask it
        try:
            return future.exception(0)
        except BaseException as exc:  # CancelledError, TimeoutError
            return exc
    if error is None and state.startswith("CANCELLED"):
        from concurrent.futures import CancelledError

        return CancelledError()
    return error


_pickle_hooks: Dict[str, Any] = {"dumps": None, "loads": None}


def pickle_hook(name: str) -> Any:
    """The current ``dumps`` / ``loads`` hook (for another family's own pickler)."""
    return _pickle_hooks[name]


def time_queue_pickling(on_dumps: Any = None, on_loads: Any = None) -> None:
    """Time every pickle made or read by ``multiprocessing.queues``.

    That module pickles each item put on any multiprocessing Queue with its
    global ``_ForkingPickler`` (looked up at each call, 3.9-3.14): in the
    runner, the executor's feeder thread pickles each call item there; in a
    worker, ``call_queue.get()`` unpickles it there.  Wrapping that global
    measures the executor's own (de)serialization, once, where it happens.
    ``on_dumps(obj, seconds, nbytes)`` / ``on_loads(obj, seconds, nbytes)``
    replace the hooks of this process (a forked worker inherits the class
    and sets its own hooks).
    """
    import pickle
    import time
    from multiprocessing import queues

    _pickle_hooks["dumps"], _pickle_hooks["loads"] = on_dumps, on_loads
    base = getattr(queues, "_ForkingPickler", None)
    if base is None:
        return
    if getattr(base, "_execscope_timed", False):
        base.use_hooks()  # a forked worker setting its own
        return
    clock = time.monotonic
    hooks = _pickle_hooks

    class TimedPickler(base):  # type: ignore[misc, valid-type]
        _execscope_timed = True

        @classmethod
        def timed_dumps(cls, obj, protocol=None):  # type: ignore[no-untyped-def]
            if not is_timed_call(obj):  # a light call: not worth two clock reads
                return base.dumps(obj, protocol)
            t0 = clock()
            buf = base.dumps(obj, protocol)
            hooks["dumps"](obj, clock() - t0, len(buf))
            return buf

        @staticmethod
        def timed_loads(data, *args, **kwargs):  # type: ignore[no-untyped-def]
            t0 = clock()
            obj = pickle.loads(data, *args, **kwargs)
            hooks["loads"](obj, clock() - t0, len(data))
            return obj

        @classmethod
        def use_hooks(cls) -> None:
            """Without a hook, the pickler's own dumps and loads, no frame of ours."""
            cls.dumps = cls.timed_dumps if hooks["dumps"] else base.dumps
            cls.loads = cls.timed_loads if hooks["loads"] else pickle.loads

    TimedPickler.use_hooks()
    queues._ForkingPickler = TimedPickler
    # multiprocessing.Pool sends its tasks with Connection.send, which pickles
    # with the connection module's own reference to the same class.
    from multiprocessing import connection

    if getattr(connection, "_ForkingPickler", None) is base:
        connection._ForkingPickler = TimedPickler


def untime_queue_pickling() -> None:
    """Put multiprocessing's own pickler back in this process (a forked
    worker inherits the parent's timed one and its hooks)."""
    from multiprocessing import connection, queues

    _pickle_hooks["dumps"] = _pickle_hooks["loads"] = None
    for module in (queues, connection):
        current = getattr(module, "_ForkingPickler", None)
        if getattr(current, "_execscope_timed", False):
            module._ForkingPickler = current.__mro__[1]


_TIMED_CALLS = ("run_task", "run_chunk")


def is_timed_call(obj: Any) -> bool:
    """``obj`` is a call item (or a Pool task) of one of ``runner.worker``'s
    timed calls (see ``call_item_args``)."""
    return call_item_args(obj) is not None


def call_item_args(obj: Any) -> Optional[tuple]:
    """The ``args`` of a ProcessPoolExecutor ``_CallItem`` (3.9-3.14), or of a
    ``multiprocessing.Pool`` task ``(job, i, func, args, kwds)``, whose func is
    one of ``runner.worker``'s timed calls; else None (a light call too)."""
    if type(obj) is tuple:
        if len(obj) == 5 and getattr(obj[2], "__name__", None) in _TIMED_CALLS and isinstance(obj[3], tuple):
            return obj[3]
        return None
    if type(obj).__name__ != "_CallItem" or getattr(getattr(obj, "fn", None), "__name__", None) not in _TIMED_CALLS:
        return None
    args = getattr(obj, "args", None)
    return args if isinstance(args, tuple) else None
