"""Which source a run in the TUI has (runner, program, attach; see execscope/source.py), which executor is shown.

    runner    a built-in or custom workload (``execscope run cpu``): one executor,
              the one execscope built; every key applies
    program   ``execscope run -- python prog.py``: the program makes its own
              executors (``Snapshot.executors``); its output and exit code exist
    attach    ``execscope attach PID``: seen from outside; some panels cannot
              be filled (``Snapshot.unavailable`` says which and why)

In the last two the screen shows either every executor summed ("all", the
default) or one of them: ``Focus`` remembers which, by executor id, and turns
the run's snapshots into the ones the panels draw (``executors.
executor_snapshot``: a Snapshot narrowed to one executor, which is what the
panels and detectors were written for).  Pure functions and a small cache: no
widgets.
"""

from __future__ import annotations

import os
import re
from typing import Dict, List, Optional, Sequence, Tuple

from execscope.executors import executor_snapshot
from execscope.model import ExecutorView, RunConfig, Snapshot
from execscope.signals import signal_name

# How far back the narrowed history goes: the widest sparkline needs no more.
NARROW_HISTORY = 200
_LOCATION = re.compile(r":\d+$")  # file.py:12


def source_of(config: Optional[RunConfig]) -> str:
    """``runner``, ``program`` or ``attach`` (read from the config, so it is known
    before the first snapshot).

    >>> source_of(RunConfig("cpu")), source_of(RunConfig("p", argv=("python", "p.py")))
    ('runner', 'program')
    >>> source_of(RunConfig("pid 7", attach_pid=7))
    'attach'
    """
    if config is None:
        return "runner"
    if config.attach_pid is not None or config.executor == "attach":
        return "attach"
    if config.argv or config.executor == "program":
        return "program"
    return "runner"


def executor_kind_label(ex: ExecutorView) -> str:
    """``thread x8``, ``process/fork x2``.

    >>> executor_kind_label(ExecutorView(id="1:1", created_at="p.py:3", kind="process", pid=1,
    ...                                  start_method="spawn", max_workers=2))
    'process/spawn x2'
    """
    text = ex.kind + ("/" + ex.start_method if ex.start_method else "")
    text += " x%d" % ex.max_workers if ex.max_workers else ""
    if ex.instances > 1:
        text += " (%d made)" % ex.instances
    return text


def where(ex: ExecutorView, short: bool = False) -> str:
    """Where the executor was made: ``at prog.py:12``, ``at base_events.py:824 via prog.py:38``;
    short keeps only file names.

    >>> where(ExecutorView(id="1", created_at="a/b/prog.py:12", kind="thread", pid=1), short=True)
    'at prog.py:12'
    >>> where(ExecutorView(id="1", created_at="thread pool 'spin'", kind="thread", pid=1))
    "thread pool 'spin'"
    """
    def name(loc: str) -> str:
        return os.path.basename(loc) if short else loc

    if not _LOCATION.search(ex.created_at):
        return ex.created_at  # attach mode names a pool by its threads: "thread pool 'spin'"
    text = "at " + name(ex.created_at)
    if ex.via:
        text += " via " + name(ex.via)
    return text


def exit_text(code: Optional[int]) -> str:
    """``exit 0``, ``exit 3``, ``killed by SIGKILL``; '' while the program runs.

    >>> exit_text(0), exit_text(2), exit_text(-9), exit_text(None)
    ('exit 0', 'exit 2', 'killed by SIGKILL', '')
    """
    if code is None:
        return ""
    if code >= 0:
        return "exit %d" % code
    return "killed by %s" % signal_name(-code)


def kinds(snap: Snapshot) -> Tuple[str, ...]:
    """The pool kinds a (possibly summed) snapshot covers, sorted: ``('thread',)``,
    ``('process', 'thread')``; the configured executor for a built-in run."""
    if snap.source == "runner" or snap.config.executor in ("serial", "thread", "process"):
        return (snap.config.executor,)
    return tuple(sorted({ex.kind for ex in snap.executors}))


def is_summed(snap: Snapshot) -> bool:
    """A program/attach snapshot showing every executor at once (not narrowed)."""
    return snap.config.executor in ("program", "attach")


def short_label(label: str, width: int) -> str:
    """A worker name that fits ``width``: CPython's ``ThreadPoolExecutor-0_3``
    keeps its numbers and shortens its prefix to the capitals.

    >>> short_label("ThreadPoolExecutor-0_3", 12), short_label("worker_1", 12)
    ('TPE-0_3', 'worker_1')
    >>> short_label("a_very_long_thread_name_7", 12)
    'a_very_lon…7'
    """
    if len(label) <= width:
        return label
    head, sep, tail = label.rpartition("-")
    if not sep:
        head, sep, tail = label.rpartition("_")
    caps = "".join(ch for ch in head if ch.isupper())
    if sep and len(caps) >= 2 and len(caps) + 1 + len(tail) <= width:
        return caps + sep + tail
    if sep and len(tail) + 2 <= width:
        return label[:width - len(tail) - 1] + "…" + tail
    return label[:width - 1] + "…"


class Focus:
    """Which executor the panels show, and the snapshots narrowed to it.

    ``selected`` is an executor id, or None for "all" (the default).  A
    program with a single executor is shown narrowed to it even on "all":
    the sum of one is that one, and its own view knows its pool kind."""

    def __init__(self) -> None:
        self.selected: Optional[str] = None
        self._cache: Dict[int, Tuple[Snapshot, Snapshot]] = {}
        self._cache_for: Optional[str] = None

    def position(self, snap: Optional[Snapshot]) -> Tuple[int, int]:
        """(index, count): index 0 is "all", 1.. the executors in creation order."""
        executors = snap.executors if snap is not None else ()
        if self.selected is not None:
            for i, ex in enumerate(executors, 1):
                if ex.id == self.selected:
                    return i, len(executors)
        return 0, len(executors)

    def cycle(self, snap: Optional[Snapshot], step: int) -> None:
        """Next (+1) or previous (-1) executor; "all" sits between the last and the first."""
        executors = snap.executors if snap is not None else ()
        if len(executors) < 2:
            self.selected = None
            return
        index, count = self.position(snap)
        index = (index + step) % (count + 1)
        self.selected = executors[index - 1].id if index else None

    def current(self, snap: Snapshot) -> Optional[ExecutorView]:
        """The executor shown alone, or None when the panels show the sum."""
        if snap.source == "runner" or not snap.executors:
            return None
        if self.selected is not None:
            for ex in snap.executors:
                if ex.id == self.selected:
                    return ex
            # folded into a group, or gone: keep to the same line if it is there
            self.selected = None
        if len(snap.executors) == 1:
            return snap.executors[0]
        return None

    def view(self, snap: Snapshot, history: Sequence[Snapshot]) -> Tuple[Snapshot, List[Snapshot]]:
        """What the panels draw: the snapshot and its recent history, narrowed
        to the current executor when there is one."""
        ex = self.current(snap)
        if ex is None:
            return snap, list(history)
        if self._cache_for != ex.id:
            self._cache, self._cache_for = {}, ex.id
        cache: Dict[int, Tuple[Snapshot, Snapshot]] = {}
        narrowed: List[Snapshot] = []
        for old in list(history)[-NARROW_HISTORY:]:
            hit = self._cache.get(id(old))
            if hit is not None and hit[0] is old:
                cache[id(old)] = hit
                narrowed.append(hit[1])
                continue
            match = _find(old, ex.id)
            if match is None:
                continue  # before this executor existed
            view = executor_snapshot(old, match)
            cache[id(old)] = (old, view)
            narrowed.append(view)
        self._cache = cache
        hit = cache.get(id(snap))
        now = hit[1] if hit is not None and hit[0] is snap else executor_snapshot(snap, ex)
        return now, narrowed


def _find(snap: Snapshot, ex_id: str) -> Optional[ExecutorView]:
    for ex in snap.executors:
        if ex.id == ex_id:
            return ex
    return None
