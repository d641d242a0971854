"""The top line: what runs, on which interpreter, for how long, and how it is going.

    cpu · thread x4 · CPython 3.11.7 GIL on (switch 5ms)        ▶ running 3.2s 457/631
"""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widget import Widget

from execscope.model import RunConfig, Snapshot

from ..fmt import STATUS


def interpreter_text(interp, short: bool = False) -> str:
    """``CPython 3.11.7 GIL on (switch 5ms)``; short: ``py3.11.7 GIL on``."""
    if not interp:
        return ""
    impl = {"cpython": "CPython", "pypy": "PyPy"}.get(interp.get("implementation", ""), "Python")
    text = ("py%s" if short else impl + " %s") % interp.get("version", "?")
    if interp.get("free_threaded_build"):
        text += "t"
    text += " GIL %s" % ("on" if interp.get("gil_enabled", True) else "off")
    switch = interp.get("switch_interval_s")
    if switch and not short:
        text += " (switch %gms)" % (switch * 1000)
    return text


class RunHeader(Widget):
    DEFAULT_CSS = """
    RunHeader { height: 1; width: 1fr; }
    """

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.snap: Optional[Snapshot] = None
        self.config: Optional[RunConfig] = None
        self.note = ""

    def show(self, snap: Optional[Snapshot], config: Optional[RunConfig] = None, note: str = "") -> None:
        self.snap = snap
        # the snapshot's config has the defaults the session filled in (start method, tasks)
        self.config = snap.config if snap is not None else config
        self.note = note
        self.refresh()

    def render(self) -> Text:
        width = self.size.width or 80
        snap, cfg = self.snap, self.config
        if cfg is None:
            left = Text()
            left.append(" execscope ", style="bold reverse")
            left.append(" no run · p: pick a scenario", style="dim")
            return left
        right = Text()
        status = snap.status if snap is not None else ("starting" if not self.note else "idle")
        symbol, style = STATUS.get(status, ("?", ""))
        if self.note and snap is not None:
            right.append(" ⚠ %s " % self.note, style="bold yellow")
        else:
            right.append(" %s %s " % (symbol, self.note or status), style=style)
        if snap is not None:
            right.append("%.1fs" % snap.t_s)
            c = snap.counts
            total = snap.expected_tasks
            right.append("  %d%s " % (c.finished, "/%d" % total if total else " done"))
        room = width - right.cell_len
        for variant in range(4):
            left = self._left(cfg, snap, variant)
            if left.cell_len <= room:
                break
        if left.cell_len > room:
            left.truncate(max(0, room - 1), overflow="ellipsis")
        left.pad_right(max(0, room - left.cell_len))
        return left + right

    @staticmethod
    def _left(cfg: RunConfig, snap: Optional[Snapshot], variant: int) -> Text:
        """Longest first: 0 everything, 1 short interpreter, 2 no brand, 3 no interpreter."""
        left = Text()
        if variant < 2:
            left.append(" execscope ", style="bold reverse")
        left.append(" %s" % cfg.workload, style="bold")
        left.append(" · %s" % cfg.label)
        if snap is not None and snap.max_workers and not cfg.workers and cfg.executor != "serial":
            left.append(" (%d by default)" % snap.max_workers, style="dim")
        if snap is not None and snap.interpreter and variant < 3:
            left.append(" · " + interpreter_text(snap.interpreter, short=variant > 0), style="dim")
        return left
