"""What runs inside an ``InterpreterPoolExecutor`` worker's subinterpreter.

The main interpreter's side (``interp_pool``) pickles the task and hands
``run_task(payload)`` to the executor, which calls it in the worker's own
interpreter; here the payload is unpickled (timed), the task called (timed)
and its result pickled (timed) back into bytes.  Only these bytes and a
tuple of numbers cross the boundary through the executor's own machinery.

A subinterpreter starts with a fresh ``sys.path`` (from the environment, not
from the main interpreter's changes at run time): ``init`` puts the main
interpreter's path in place, so a ``module:function`` or ``file.py:function``
task unpickles by reference here as it does in a process worker.

In an instrumented program (``inject.interp_hooks``) the task crosses the
executor's own way instead (``run_native``): CPython rebuilds a program's
``__main__`` functions in the worker's interpreter, which pickling by
reference would not.

Standard library and ``outcome`` only (light to import in each worker
interpreter),
Python 3.9 syntax.
"""

from __future__ import annotations

import pickle
import sys
import time

from .outcome import call, call_chunk, describe, pack

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Sequence, Tuple


def init(path: Sequence[str]) -> None:
    """The worker interpreter's initializer: the main interpreter's sys.path."""
    sys.path[:] = list(path)


def _run(payload: bytes, chunk: bool) -> Tuple[str, Any, tuple]:
    t_arrive = time.monotonic()
    try:
        fn, args, kwargs = pickle.loads(payload)
    except Exception as exc:
        t = time.monotonic()
        return ("error", describe(exc, "the task cannot be unpickled in the worker's interpreter: "),
                (t - t_arrive, t, t, 0.0, t))
    t_c0 = time.monotonic()
    value, status = (call_chunk if chunk else call)(fn, args, kwargs)
    t_c1 = time.monotonic()
    status, out = pack(status, value)
    t_wend = time.monotonic()
    return status, out, (t_c0 - t_arrive, t_c0, t_c1, t_wend - t_c1, t_wend)


def run_task(payload: bytes) -> Tuple[str, Any, tuple]:
    """One task: ``(status, result bytes or failure, (deser_s, t_c0, t_c1, rser_s, t_wend))``."""
    return _run(payload, False)


def run_chunk(payload: bytes) -> Tuple[str, Any, tuple]:
    """A ``map`` chunk: the payload's args are the chunk's items."""
    return _run(payload, True)


def run_native(fn: Any, args: tuple, kwargs: dict) -> Tuple[str, Any, tuple]:
    """A program's task, rebuilt here by the executor's own crossing (shared,
    or pickled with CPython's ``__main__`` handling): as ``run_task``, with
    no unpickling of ours to time."""
    t_c0 = time.monotonic()
    value, status = call(fn, args, kwargs)
    t_c1 = time.monotonic()
    status, out = pack(status, value)
    t_wend = time.monotonic()
    return status, out, (0.0, t_c0, t_c1, t_wend - t_c1, t_wend)
