"""Watch a program's ``InterpreterPoolExecutor`` (3.14+) once it imports it (see ``hooks``).

The executor is a ThreadPoolExecutor subclass, so ``hooks`` already patches
its ``__init__`` and ``submit``; here, once ``concurrent.futures.interpreter``
has run, the class is marked as its own family (``interpreter``) and its
``WorkerContext.initialize`` notes when each worker is ready (its start-up)
and ``WorkerContext.run`` goes through ``runner.interp_pool.timed_run`` for the
tasks the Tracker sends: timed in the worker thread and in the worker's
interpreter, crossing the executor's own way (``pickled=False``), so a
program's ``__main__`` functions still reach the subinterpreter as CPython
brings them there.  Every other call of ``run`` (the initializer) is
untouched.  The task's pickling then happens inside that crossing, so the
executor says its serialize / deserialize phases and its bytes sent are
unavailable (``NATIVE_UNAVAILABLE``), as a Dask client does, instead of 0.
"""

from __future__ import annotations

import functools
from typing import Any

KIND = "interpreter"


def patch(module: Any) -> None:
    from ..runner.interp_pool import NATIVE_UNAVAILABLE, timed_initialize, timed_run

    context = module.WorkerContext
    if context.__dict__.get("_execscope_patched"):
        return
    original_run, original_initialize = context.run, context.initialize

    @functools.wraps(original_run)
    def run(self: Any, task: Any) -> Any:
        return timed_run(self, original_run, task, pickled=False)

    @functools.wraps(original_initialize)
    def initialize(self: Any) -> Any:
        return timed_initialize(self, original_initialize)

    context.run = run
    context.initialize = initialize
    context._execscope_patched = True
    module.InterpreterPoolExecutor._execscope_kind = KIND
    module.InterpreterPoolExecutor._execscope_unavailable = NATIVE_UNAVAILABLE
