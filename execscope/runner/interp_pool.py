"""``concurrent.futures.InterpreterPoolExecutor`` (CPython 3.14+) as ``--executor interpreter``.

The executor is a ThreadPoolExecutor whose worker threads each own a
subinterpreter (with its own GIL): a worker takes a task from the shared
work queue in the main interpreter, then ``WorkerContext.run`` calls it
inside its interpreter (``Interpreter.call``), which shares or pickles the
callable and its arguments across the boundary and the result back.

The Tracker submits ``interp_task.run_task`` (or ``run_chunk``) with itself,
the task id and the task as arguments; ``timed_run`` replaces the worker
context's ``run`` for exactly those calls, in the worker thread:

    queue     submit -> the worker thread took the task (main interpreter)
    ser       the task pickled into bytes, in the worker thread
    xfer      the bytes and ``run_task`` handed to the worker's interpreter
    deser     unpickling there (``interp_task``)
    compute   the task itself, in the worker's interpreter
    rser      its result pickled there
    rxfer     the result bytes handed back to the worker thread, up to the
              future's callback
    rdeser    unpickling the result (the Tracker's done callback)

Every phase is measured.  Execscope pickles the task itself (CPython's own
fallback for what is not shareable, which is every module-level function
using its globals), so the crossing is timed phase by phase instead of
inside one C call; arguments that CPython would share without pickling
(ints, strings, bytes) cost a little more here than they would unwatched.

The worker rows are the worker threads (``Tracker`` thread rows), labelled
with the interpreter each one runs its tasks in; a worker's start-up ends
when its interpreter is created and initialized (``timed_initialize``).
"""

from __future__ import annotations

import os
import pickle
import sys
import time
from typing import Any, Callable, Dict

from . import interp_task
from .instrument import IDLE, RUNNING
from .outcome import PROTOCOL, describe

ENTRIES = {interp_task.run_task: False, interp_task.run_chunk: True}
ATTR_READY = "_execscope_ready"  # on a worker context: when its interpreter was ready


def timed_initialize(ctx: Any, base_initialize: Callable[[Any], Any]) -> Any:
    """``WorkerContext.initialize`` (the worker's interpreter created, the
    initializer run), noting when the worker was ready: its start-up."""
    result = base_initialize(ctx)
    setattr(ctx, ATTR_READY, time.monotonic())
    return result


def timed_run(ctx: Any, base_run: Callable[[Any, Any], Any], task: Any, pickled: bool = True) -> Any:
    """``WorkerContext.run`` for a task the Tracker sent (else ``base_run`` as is).
    ``pickled``: the task crosses as bytes pickled here; else the executor's
    own way (a program's tasks), and the crossing is filed whole as transfer."""
    fn, args, kwargs = task
    if fn not in ENTRIES or len(args) != 5 or kwargs:
        return base_run(ctx, task)
    tracker, task_id, user_fn, user_args, user_kwargs = args
    if not pickled:
        return _native_run(ctx, base_run, tracker, task_id, (user_fn, user_args, user_kwargs))
    row, t_taken = _started(ctx, tracker, task_id)
    try:
        try:
            payload = pickle.dumps((user_fn, user_args, user_kwargs), PROTOCOL)
        except Exception as exc:
            t = time.monotonic()
            tracker.serialized[task_id] = (t - t_taken, 0)
            return ("error", describe(exc, "the task cannot be pickled into the worker's interpreter: "),
                    (os.getpid(), t, t, 0.0, t, t, 0.0, t))
        t_sent = time.monotonic()
        tracker.serialized[task_id] = (t_sent - t_taken, len(payload))
        status, out, (deser_s, t_c0, t_c1, rser_s, t_wend) = base_run(ctx, (fn, (payload,), {}))
        row.busy_s += t_c1 - t_c0
        # (pid, when the task reached the worker, compute start, deser, compute, rser, result out)
        return status, out, (os.getpid(), t_sent, t_c0, deser_s, t_c0, t_c1, rser_s, t_wend)
    finally:
        row.done += 1
        row.state, row.task, row.since = IDLE, -1, time.monotonic()


def _started(ctx: Any, tracker: Any, task_id: int) -> Any:
    """The worker thread's row, marked running ``task_id``; and when."""
    row = tracker._thread_row()
    interp = getattr(ctx, "interp", None)
    if interp is not None and "(interpreter" not in row.name:
        row.name = "%s (interpreter %s)" % (row.name, interp.id)
        row.t_started = getattr(ctx, ATTR_READY, 0.0)
    t_taken = time.monotonic()
    row.state, row.task, row.since = RUNNING, task_id, t_taken
    return row, t_taken


def _native_run(ctx: Any, base_run: Callable[[Any, Any], Any], tracker: Any, task_id: int,
                call: tuple) -> Any:
    row, t_taken = _started(ctx, tracker, task_id)
    try:
        status, out, (_, t_c0, t_c1, rser_s, t_wend) = base_run(ctx, (interp_task.run_native, call, {}))
        row.busy_s += t_c1 - t_c0
        # pickling, if any, happened inside the executor's crossing: all transfer
        return status, out, (os.getpid(), t_taken, t_c0, 0.0, t_c0, t_c1, rser_s, t_wend)
    finally:
        row.done += 1
        row.state, row.task, row.since = IDLE, -1, time.monotonic()


# A program's tasks cross the executor's own way (``timed_run(pickled=False)``):
# CPython shares or pickles them inside one call, timed whole as transfer.
_IN_THE_CROSSING = ("the task crosses into the worker's interpreter inside CPython's own call "
                    "(shared, or pickled there): its pickling is timed with the transfer, not apart")
NATIVE_UNAVAILABLE = (("serialize", _IN_THE_CROSSING), ("deserialize", _IN_THE_CROSSING),
                      ("ipc", "the task's bytes cross inside CPython's own call: they are not counted"))


def build(config: Dict[str, Any], run_dir: str) -> Any:
    """The runner's ``--executor interpreter``: the executor with timed worker contexts."""
    from concurrent.futures import InterpreterPoolExecutor  # 3.14+: validate refused older ones
    from concurrent.futures.interpreter import WorkerContext

    class TimedContext(WorkerContext):
        def initialize(self) -> None:
            timed_initialize(self, WorkerContext.initialize)

        def run(self, task: Any) -> Any:
            return timed_run(self, WorkerContext.run, task)

    class TimedInterpreterPool(InterpreterPoolExecutor):
        @classmethod
        def prepare_context(cls, initializer: Any, initargs: Any) -> Any:
            return TimedContext.prepare(initializer, initargs)

    return TimedInterpreterPool(max_workers=config.get("workers"), thread_name_prefix="interp",
                                initializer=interp_task.init, initargs=(tuple(sys.path),))
