"""Patch ``distributed.Client`` once the program imports it (see ``hooks``).

A program's Dask tasks are one executor of the program: each ``Client`` whose
scheduler runs in the program's own process (``Client(LocalCluster(...))``,
or a bare ``Client()``, which starts one) is watched by
``runner.dask_pool.DaskWatch`` through Dask's plugin interfaces, so every task
is seen whatever API submitted it (``submit``, ``map``, ``compute`` of a
collection...).  Replaced at class level:

    __init__   the original, then the agent registers the client's tasks,
               named by where the client was created
    close      the agent learns the client takes no more work

A client of a scheduler in another process cannot be watched from here (its
task events happen there): the program is told so on its stderr, once.
Dask's own thread pools are Dask's, not the program's (``hooks`` leaves them
alone).
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Dict

from .agent import Entry


class DaskEntry(Entry):
    """An agent Entry for a client's watch (which it holds: the watch holds the client)."""

    watch: Any = None

    def state(self) -> Dict[str, Any]:
        watch = self.watch
        self.mode, self.map_items = watch.mode, watch.map_items
        data = super().state()
        data["unavailable"] = watch.unavailable
        return data

    def finished(self) -> bool:
        if not (self.shut or self.watch.closed):
            return False
        return self.tracker.finished >= self.tracker.submitted


def patch(module: Any) -> None:
    cls = module.Client
    if cls.__dict__.get("_execscope_patched"):
        return
    original_init, original_close = cls.__init__, cls.close

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if not kwargs.get("asynchronous"):
            register(self)

    @functools.wraps(original_close)
    def close(self: Any, *args: Any, **kwargs: Any) -> Any:
        _mark_shut(self)
        return original_close(self, *args, **kwargs)

    cls.__init__ = __init__
    cls.close = close
    cls._execscope_patched = True


def register(client: Any) -> None:
    from . import agent
    from .hooks import ATTR, creation_site

    current = agent._current()
    if current is None:
        return
    try:
        from ..runner.dask_pool import DaskWatch

        slot_dir = current.new_slot_dir()
        watch = DaskWatch(client, getattr(client, "cluster", None), slot_dir)
        entry = current.add(watch, "dask", None, creation_site(client), slot_dir, entry_cls=DaskEntry)
        entry.watch = watch
        watch.tracker = entry.tracker
        client.__dict__[ATTR] = entry
    except Exception as exc:  # the client must work even if we cannot watch it
        sys.stderr.write("execscope: not watching a Dask client: %s\n" % exc)


def _mark_shut(client: Any) -> None:
    from .hooks import _entry

    entry = _entry(client)
    if entry is not None:
        entry.shutting_down = True
        entry.shut = True
        entry.watch.closed = True
