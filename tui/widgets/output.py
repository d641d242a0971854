"""Program output: the last lines the program wrote to stdout and stderr.

    batch 11: 16 pages, checksum 99859
    batch 12: 16 pages, checksum 99864

Program mode only (``execscope run -- python prog.py``): the program's
terminal is the TUI, so its own output is kept here instead.  The newest line
is at the bottom and stays in view unless someone scrolled up (Tab to the
panel, then the arrow keys); a line wider than the panel is cut with an ellipsis.
"""

from __future__ import annotations

from rich.text import Text

from ..sources import exit_text
from .panel import Panel


class OutputPanel(Panel):
    PANEL = "output"
    TITLE = "Program output"

    def render_body(self, width: int) -> Text:
        snap = self.snap
        program = snap.program if snap is not None else None
        self._retitle(program)
        if program is None:
            return Text("the program has not started yet", style="dim")
        lines = program.output_tail
        if not lines:
            return Text("no output yet (stdout and stderr land here)", style="dim")
        text = Text()
        for line in lines:
            line = line.expandtabs(4)
            if len(line) > width:
                line = line[:max(1, width - 1)] + "…"
            text.append(line + "\n")
        text.rstrip()
        return text

    def _retitle(self, program) -> None:
        title = self.TITLE
        if program is not None:
            title += " · pid %d" % program.pid if program.pid else ""
            code = exit_text(program.exit_code)
            if code:
                title += " · " + code
        if title != self.border_title:
            self.border_title = title

    def redraw(self) -> None:
        at_end = self.scroll_y >= self.max_scroll_y
        super().redraw()
        if at_end:  # follow the output unless someone scrolled up to read
            self.call_after_refresh(self.scroll_end, animate=False)
