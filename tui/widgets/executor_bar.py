"""The executor line of program and attach runs: which executor the panels show.

     e ◂ all ▸ 2 executors summed (1 process pool, 1 thread pool) · 2 live
     e ◂ 2/2 ▸ process/fork x2 at pipeline.py:32 in main · ▶ live · cpu-bound
     executor  thread x8 at fetch.py:14 in main · ▶ live · io-bound

``e`` / ``E`` cycle through "all" and each executor (only shown when there
are several).  Hidden for built-in workloads, which have one executor.
"""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widget import Widget

from execscope.model import ExecutorView, Snapshot

from ..sources import executor_kind_label, where

BOUND_STYLE = {"cpu-bound": "bold green", "gil-bound": "bold red", "io-bound": "bold cyan", "mixed": "bold"}
STATE_TEXT = {"live": ("▶ live", "green"), "shutting_down": ("◌ shutting down", "yellow"),
              "retired": ("■ shut down", "dim")}


class ExecutorBar(Widget):
    DEFAULT_CSS = """
    ExecutorBar { height: 1; width: 1fr; display: none; }
    ExecutorBar.-on { display: block; }
    """

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.snap: Optional[Snapshot] = None
        self.index = 0
        self.source = "runner"

    def show(self, snap: Optional[Snapshot], index: int, source: str) -> None:
        self.snap, self.index, self.source = snap, index, source
        self.set_class(source != "runner", "-on")
        self.refresh()

    def render(self) -> Text:
        width = self.size.width or 80
        snap = self.snap
        text = Text()
        executors = snap.executors if snap is not None else ()
        if not executors:
            text.append(" executors ", style="bold reverse")
            if self.source == "attach":
                text.append(" none seen in its stacks yet (a ThreadPoolExecutor or ProcessPoolExecutor "
                            "with workers)", style="dim")
            else:
                text.append(" none yet: the program has not made a ThreadPoolExecutor or "
                            "ProcessPoolExecutor", style="dim")
            return _fit(text, width)
        if len(executors) == 1:
            text.append(" executor ", style="bold reverse")
            text.append(" ")
            _describe(text, executors[0], width - text.cell_len)
            return _fit(text, width)
        count = len(executors)
        text.append(" e ", style="bold reverse")
        text.append(" ◂ %s ▸ " % ("all" if self.index == 0 else "%d/%d" % (self.index, count)), style="bold")
        if self.index == 0:
            pools = {}
            for ex in executors:
                pools[ex.kind] = pools.get(ex.kind, 0) + 1
            live = sum(1 for ex in executors if ex.state != "retired")
            text.append("%d executors summed " % count, style="bold")
            text.append("(%s)" % ", ".join("%d %s pool%s" % (n, kind, "s" if n > 1 else "")
                                           for kind, n in sorted(pools.items())))
            text.append(" · %d live" % live, style="dim")
            hint = "  e: one at a time"
            if text.cell_len + len(hint) <= width:
                text.append(hint, style="dim")
        else:
            _describe(text, executors[self.index - 1], width - text.cell_len)
        return _fit(text, width)


def _describe(text: Text, ex: ExecutorView, room: int) -> None:
    """``process/fork x2 at prog.py:32 in main · live · cpu-bound``, shortened to ``room``."""
    state, state_style = STATE_TEXT.get(ex.state, (ex.state, ""))
    tail = Text()
    tail.append(" · ")
    tail.append(state, style=state_style)
    if ex.bound:
        tail.append(" · ")
        tail.append(ex.bound, style=BOUND_STYLE.get(ex.bound, "bold"))
    label = executor_kind_label(ex)
    for short, func in ((False, True), (True, True), (True, False)):
        place = " " + where(ex, short=short) + (" in %s" % ex.function if func and ex.function else "")
        if len(label) + len(place) + tail.cell_len <= room:
            break
    text.append(label, style="bold")
    text.append(place)
    text.append_text(tail)


def _fit(text: Text, width: int) -> Text:
    if text.cell_len > width:
        text.truncate(max(1, width - 1), overflow="ellipsis")
    return text
