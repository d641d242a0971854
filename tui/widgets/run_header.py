"""The top line: what runs, on which interpreter, for how long, and how it is going.

    cpu · thread x4 · CPython 3.11.7 GIL on (switch 5ms)        ▶ running 3.2s 457/631
    python prog.py · pid 4242 · CPython 3.11.7 GIL on    ✓ completed exit 0 5.3s 256 done
    attached to pid 4242 python spin.py · CPython 3.11.7    ▶ watching 3.2s 3 running
"""

from __future__ import annotations

import os
from typing import Optional

from rich.text import Text
from textual.widget import Widget

from execscope.model import RunConfig, Snapshot
from execscope.observer import observer_note

from ..fmt import STATUS
from ..sources import exit_text, source_of


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


def command_text(argv, short: bool = False) -> str:
    """A program's command line: the interpreter by its name; short: every path by its name.

    >>> command_text(("/usr/bin/python3", "tests/programs/mixed.py", "-v"))
    'python3 tests/programs/mixed.py -v'
    >>> command_text(("/usr/bin/python3", "tests/programs/mixed.py", "-v"), short=True)
    'python3 mixed.py -v'
    """
    words = [os.path.basename(argv[0])] + list(argv[1:])
    if short:
        words = [os.path.basename(w) if os.sep in w and not w.startswith("-") else w for w in words]
    return " ".join(words)


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
        word = "watching" if status == "running" and source_of(cfg) == "attach" else status
        if self.note and snap is not None:
            right.append(" ⚠ %s " % self.note, style="bold yellow")
        else:
            right.append(" %s %s " % (symbol, self.note or word), style=style)
        source = source_of(cfg)
        if snap is not None:
            code = exit_text(snap.program.exit_code) if snap.program is not None else ""
            if code:
                right.append(code + " ", style="bold" if snap.program.exit_code == 0 else "bold red")
            cost = observer_note(snap.observer)
            if cost:  # watching costs this run more than a few percent: say so
                right.append(cost + " ", style="yellow")
            right.append("%.1fs" % snap.t_s)
            c = snap.counts
            total = snap.expected_tasks
            if source == "attach" and not (snap.program is not None and snap.program.instrumented):
                right.append("  %d running%s " % (c.running, " ‖%d blocked" % c.blocked if c.blocked else ""))
            else:
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
        source = source_of(cfg)
        if source == "runner":
            left.append(" %s" % cfg.workload, style="bold")
            left.append(" · %s" % cfg.label)
            if snap is not None and snap.max_workers and not cfg.workers and cfg.executor != "serial":
                left.append(" (%d by default)" % snap.max_workers, style="dim")
        else:
            program = snap.program if snap is not None else None
            if source == "attach":
                pid = program.pid if program is not None else cfg.attach_pid
                left.append(" attached to pid %s" % pid)
                mode = program.mode if program is not None else ""
                if mode:  # "instrumented since 12:03:41" / "stacks only: <why>"
                    short = mode.split(":", 1)[0] if variant >= 2 and mode.startswith("stacks") else mode
                    left.append(" · " + short, style="green" if mode.startswith("instrumented") else "yellow")
                argv = program.argv if program is not None and program.argv else ()
                if argv:
                    left.append(" " + command_text(argv, short=variant >= 2), style="bold")
            else:
                left.append(" " + (command_text(cfg.argv, short=variant >= 2) if cfg.argv else cfg.workload),
                            style="bold")
                if program is not None and program.pid:
                    left.append(" · pid %d" % program.pid)
        if snap is not None and snap.interpreter and variant < 3:
            left.append(" · " + interpreter_text(snap.interpreter, short=variant > 0), style="dim")
        return left
