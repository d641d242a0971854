"""The tour's line: which claim this step shows and the one thing to watch.

    Tour 3/12 · C3 I/O releases the GIL
    Watch: Sixteen threads overlap their sleeps: tasks/s is about 16 times serial…
"""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import Static

from ..claims import CLAIMS
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
        width = self.size.width or self.app.size.width
        text = Text()
        text.append(" Tour %d/%d " % (index + 1, total), style="bold reverse")
        text.append(" %s " % "+".join(step.claims), style="bold")
        text.append(step.title, style="bold")
        keys = ("  next in %gs" % auto_s) if auto_s else "  n next · b back · t leave"
        claim = CLAIMS.get(step.claims[0], "")
        if claim and text.cell_len + 3 + len(claim) + len(keys) <= width - 2:
            text.append(" — " + claim, style="dim")
        text.append(keys, style="dim")
        text.append("\n")
        text.append("Watch: ", style="bold")
        text.append(step.watch)
        self.update(text)
