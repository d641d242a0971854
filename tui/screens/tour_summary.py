"""The end of the guided tour: which claims held here, by the tour's own verdicts.

    The tour's verdicts on this machine (the article: "Python concurrency in depth…")
    ✓ C1  holds here: switch interval 5.0 ms
    ✗ C6  does not hold here: process/fork x2 1.10x
    · C9  not run (left before this step)
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from execscope import tour

from ..tour_steps import TourStep
from ..widgets.tour_banner import verdict_line


def summary_text(steps: Sequence[TourStep], verdicts: Mapping[str, Optional["tour.Check"]]) -> Text:
    text = Text()
    held = sum(1 for c in verdicts.values() if c is not None and c.status == tour.HOLDS)
    judged = sum(1 for c in verdicts.values() if c is not None)
    text.append("The tour's verdicts on this machine: %d of %d judged claims held\n" % (held, judged),
                style="bold")
    text.append("(%s)\n\n" % tour.ARTICLE, style="dim")
    for step in steps:
        claim = step.claims[0]
        check = verdicts.get(claim)
        text.append("%-4s " % claim, style="bold")
        if check is None:
            text.append("· not judged (the step was not run to its end)", style="dim")
        else:
            text.append_text(verdict_line(check))
            if check.measured and check.figure not in ("", "-"):
                text.append("\n     " + check.measured, style="dim")
        text.append("\n")
    text.append("\nEsc closes this (back to the last step; t then leaves the tour)", style="dim")
    return text


class TourSummaryScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,n,enter", "close", "Close", tooltip="Close the tour's summary")]

    def __init__(self, steps: Sequence[TourStep], verdicts: Mapping[str, Optional["tour.Check"]]) -> None:
        super().__init__()
        self.steps = steps
        self.verdicts = dict(verdicts)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(summary_text(self.steps, self.verdicts), markup=False)
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
