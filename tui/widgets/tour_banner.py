"""The tour's line: which claim this step shows and the one thing to watch.

    Tour 3/12 · C3 I/O releases the GIL
    Watch: Sixteen threads overlap their sleeps: tasks/s is about 16 times serial…
"""

from __future__ import annotations

from typing import Optional

from rich.console import Console
from rich.text import Text
from textual.widgets import Static

from execscope.tour import CLAIMS
from ..tour_steps import TourStep


class TourBanner(Static):
    DEFAULT_CSS = """
    TourBanner { height: auto; max-height: 3; display: none; }
    TourBanner.-on { display: block; }
    """

    def show_step(self, step: Optional[TourStep], index: int, total: int, auto_s: Optional[float]) -> None:
        if step is None:
            self.set_class(False, "-on")
            return
        self.set_class(True, "-on")
        self._shown = (step, index, total, auto_s)
        self.update(self._text(step, index, total, auto_s, self.size.width or self.app.size.width))

    def on_resize(self) -> None:
        if getattr(self, "_shown", None) is not None and self.has_class("-on"):
            self.update(self._text(*self._shown, self.size.width or self.app.size.width))

    @staticmethod
    def _text(step: TourStep, index: int, total: int, auto_s: Optional[float], width: int) -> Text:
        """One line of title (cut to fit), then the sentence to watch (up to two lines):
        what to look at matters more than the title when the terminal is small."""
        room = max(20, width - 2)
        text = Text()
        text.append(" Tour %d/%d " % (index + 1, total), style="bold reverse")
        text.append(" %s " % "+".join(step.claims), style="bold")
        keys = ("  next in %gs" % auto_s) if auto_s else "  n next · b back · t leave"
        title = Text(step.title, style="bold")
        claim = CLAIMS.get(step.claims[0], "")
        if claim and claim != step.title:
            title.append(" — " + claim, style="dim")
        left = room - text.cell_len - len(keys)
        if title.cell_len > left:
            title.truncate(max(8, left), overflow="ellipsis")
        text.append_text(title)
        if text.cell_len + len(keys) <= room:
            text.append(keys, style="dim")
        text.append("\n")
        watch = Text()
        watch.append("Watch: ", style="bold")
        watch.append(step.watch)
        lines = watch.wrap(Console(width=room), room)
        if len(lines) > 2:
            lines = lines[:2]
            lines[1].truncate(room - 1)
            lines[1].append("…")
        text.append_text(Text("\n").join(lines))
        return text
