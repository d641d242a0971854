"""Patch loky's ``ProcessPoolExecutor`` once the program imports it (see ``hooks``).

loky (and the copy joblib ships as ``joblib.externals.loky``, the engine of
joblib's default ``Parallel`` backend) has a process executor of its own: not
a subclass of ``concurrent.futures.ProcessPoolExecutor``, and its constructor
differs (``context``, ``job_reducers``, ``env``...), but it keeps CPython's
design (``_processes``, ``_call_queue``, an initializer), so the agent's
Tracker drives it as it drives CPython's: ``__init__`` gives its workers the
worker instrumentation and registers it (kind ``loky``), ``submit`` goes
through its Tracker, ``shutdown`` marks it winding down.  Its ``map`` calls
``submit`` once per chunk, so a chunk is one task.

joblib hands each worker a batch of calls as one submitted task: tasks here
are joblib's batches.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from ..runner import loky_pool


def patch(module: Any) -> None:
    cls = module.ProcessPoolExecutor
    if cls.__dict__.get("_execscope_patched"):
        return
    package = module.__name__.rpartition(".")[0]  # loky or joblib.externals.loky
    original_init = cls.__init__

    @functools.wraps(original_init)
    def __init__(self: Any, max_workers: Any = None, job_reducers: Any = None, result_reducers: Any = None,
                 timeout: Any = None, context: Any = None, initializer: Any = None, initargs: tuple = (),
                 env: Any = None) -> None:
        from . import agent
        from .hooks import creation_site

        plan = agent.plan_process_pool(_Method(), initializer, initargs, {})
        if plan is None:
            original_init(self, max_workers, job_reducers, result_reducers, timeout, context, initializer,
                          initargs, env)
            return
        loky_pool.time_call_pickling(importlib.import_module(package + ".backend.queues"))
        slot_dir, init, args = plan
        original_init(self, max_workers, job_reducers, result_reducers, timeout, context, init, args, env)
        self.start_method = "loky"
        agent.register(self, "loky", original_submit, creation_site(self), slot_dir)

    from .hooks import patch_methods

    original_submit = cls.submit
    cls.__init__ = __init__
    patch_methods(cls)
    cls._execscope_patched = True


class _Method:
    """loky starts its workers with its own launcher ("loky": fork + exec on POSIX)."""

    @staticmethod
    def get_start_method() -> str:
        return "loky"
