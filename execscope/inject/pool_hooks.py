"""Patch ``multiprocessing.pool.Pool`` once the program imports it (see ``hooks``).

Every process Pool the program creates (``multiprocessing.Pool``,
``get_context(...).Pool``, ``multiprocessing.pool.Pool``, a subclass) is
watched by ``runner.mp_pool.PoolWatch``; all of ``apply``, ``apply_async``,
``map``, ``map_async``, ``imap``, ``imap_unordered``, ``starmap`` and
``starmap_async`` go through the two points it hooks, so none is patched
here.  Replaced at class level:

    __init__    the workers get ``runner.worker.init_worker`` as initializer
                (the program's own initializer, with its initargs, is called
                from it; ``maxtasksperchild`` is untouched), then the agent
                registers the pool, named by where it was created
    close, terminate   the agent learns the pool takes no more work

``ThreadPool`` (a Pool subclass whose workers are threads) is left alone.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Dict

from .agent import Entry


class PoolEntry(Entry):
    """An agent Entry for a pool's watch.  The entry holds the watch (which
    holds the pool weakly), so that a pool the program drops right after its
    last map is still reported, retired, with every task it ran."""

    watch: Any = None

    def state(self) -> Dict[str, Any]:
        watch = self.watch
        self.mode, self.chunksize, self.map_items = watch.mode, watch.chunksize, watch.map_items
        return super().state()

    def finished(self) -> bool:
        if not (self.shut or not self.watch.alive):
            return False
        return self.tracker.finished >= self.tracker.submitted


def patch(module: Any) -> None:
    cls = module.Pool
    if cls.__dict__.get("_execscope_patched"):
        return
    thread_pool = getattr(module, "ThreadPool", None)
    original_init, original_close, original_terminate = cls.__init__, cls.close, cls.terminate

    @functools.wraps(original_init)
    def __init__(self: Any, processes: Any = None, initializer: Any = None, initargs: Any = (),
                 maxtasksperchild: Any = None, context: Any = None) -> None:
        if thread_pool is not None and isinstance(self, thread_pool):
            original_init(self, processes, initializer, initargs, maxtasksperchild, context)
            return
        from . import agent
        from .hooks import creation_site

        ctx = context if context is not None else module.get_context()
        plan = agent.plan_process_pool(ctx, initializer, initargs, {})
        if plan is None:
            original_init(self, processes, initializer, initargs, maxtasksperchild, context)
            return
        threads = [t.name for t in threading.enumerate()]  # the pool forks its workers now
        slot_dir, init, args = plan
        original_init(self, processes, init, args, maxtasksperchild, context)
        register(self, ctx.get_start_method(), creation_site(self), slot_dir, threads)

    @functools.wraps(original_close)
    def close(self: Any) -> None:
        original_close(self)
        _mark_shut(self)

    @functools.wraps(original_terminate)
    def terminate(self: Any) -> None:
        _mark_shut(self)
        original_terminate(self)

    cls.__init__ = __init__
    cls.close = close
    cls.terminate = terminate
    cls._execscope_patched = True


def register(pool: Any, start_method: str, site: dict, slot_dir: str, threads: list) -> None:
    from . import agent
    from .hooks import ATTR

    current = agent._current()
    if current is None:
        return
    try:
        from ..runner.mp_pool import PoolWatch

        watch = PoolWatch(pool, start_method)
        entry = current.add(watch, "pool", None, site, slot_dir, entry_cls=PoolEntry)
        entry.watch = watch
        watch.tracker = entry.tracker
        entry.threads_at_first_submit = threads
        pool.__dict__[ATTR] = entry
    except Exception as exc:  # the pool must work even if we cannot time it
        import sys

        sys.stderr.write("execscope: not watching a multiprocessing pool: %s: %s\n" % (type(exc).__name__, exc))


def _mark_shut(pool: Any) -> None:
    from .hooks import _entry

    entry = _entry(pool)
    if entry is not None:
        entry.shutting_down = True
        entry.shut = True
