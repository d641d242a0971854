"""Watch a program's ``InterpreterPoolExecutor`` (3.14+) once it imports it (see ``hooks``).

The executor is a ThreadPoolExecutor subclass, so ``hooks`` already patches
its ``__init__`` and ``submit``; here, once ``concurrent.futures.interpreter``
has run, the class is marked as its own family (``interpreter``) and its
``WorkerContext.run`` goes through ``runner.interp_pool.timed_run`` for the
tasks the Tracker sends: timed in the worker thread and in the worker's
interpreter, crossing the executor's own way (``pickled=False``), so a
program's ``__main__`` functions still reach the subinterpreter as CPython
brings them there.  Every other call of ``run`` (the initializer) is
untouched.
"""

from __future__ import annotations

import functools
from typing import Any

KIND = "interpreter"


def patch(module: Any) -> None:
    from ..runner.interp_pool import timed_run

    context = module.WorkerContext
    if context.__dict__.get("_execscope_patched"):
        return
    original_run = context.run

    @functools.wraps(original_run)
    def run(self: Any, task: Any) -> Any:
        return timed_run(self, original_run, task, pickled=False)

    context.run = run
    context._execscope_patched = True
    module.InterpreterPoolExecutor._execscope_kind = KIND
