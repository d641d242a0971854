"""The tour's lines: which claim this step shows, the claim whole, what to watch, the verdict.

     Tour 2/13  C2                                   n next · b back · t leave
    CPU-bound pure-Python work in a thread pool does not scale; more threads can
    be slower ("GIL battle").
    Watch: The cpu workload, one row per run: the thread x2 and thread x4 rows'…
    ✓ holds here: thread x4 0.98x   (n: next claim)

Nothing is cut: the claim and the sentence to watch wrap to the width, and a
small terminal gives up panels (see ``layout``) before it gives up these.
"""

from __future__ import annotations

from typing import Optional

from rich.text import Text
from textual.widgets import Static

from execscope import tour

from ..tour_steps import TourStep
from .resized import Resized

VERDICT = {tour.HOLDS: ("✓", "bold green"), tour.FAILS: ("✗", "bold red"),
           tour.CANNOT: ("⊘", "bold yellow"), tour.UNMEASURED: ("?", "bold yellow")}


def verdict_line(check: "tour.Check") -> Text:
    symbol, style = VERDICT.get(check.status, ("?", "bold"))
    text = Text()
    text.append("%s %s here" % (symbol, check.status), style=style)
    if check.figure and check.figure != "-":
        text.append(": " + check.figure, style="bold")
    elif check.measured:
        text.append(": " + check.measured)
    return text


class TourBanner(Static):
    DEFAULT_CSS = """
    TourBanner { height: auto; display: none; }
    TourBanner.-on { display: block; }
    """

    _shown: Optional[tuple] = None

    def show_step(self, step: Optional[TourStep], index: int, total: int, auto_s: Optional[float],
                  check: Optional["tour.Check"] = None, running: str = "") -> None:
        if step is None:
            self._shown = None
            self.set_class(False, "-on")
            return
        self.set_class(True, "-on")
        self._shown = (step, index, total, auto_s, check, running)
        self.update(self._text(*self._shown, self.size.width or self.app.size.width))

    def on_resize(self) -> None:
        if self._shown is not None and self.has_class("-on"):
            self.update(self._text(*self._shown, self.size.width or self.app.size.width))
        self.post_message(Resized())

    @staticmethod
    def _text(step: TourStep, index: int, total: int, auto_s: Optional[float],
              check: Optional["tour.Check"], running: str, width: int) -> Text:
        room = max(20, width - 2)
        head = Text()
        head.append(" Tour %d/%d " % (index + 1, total), style="bold reverse")
        head.append(" %s " % "+".join(step.claims), style="bold")
        if running:
            head.append(running, style="dim")
        last = index + 1 >= total
        keys = ("next in %gs" % auto_s) if auto_s else \
            ("n summary · b back · t leave" if last else "n next · b back · t leave")
        gap = room - head.cell_len - len(keys)
        if gap >= 2:
            head.append(" " * gap + keys, style="dim")
        lines = [head]
        lines += Text(step.title, style="bold").wrap(_console(room), room)
        watch = Text()
        watch.append("Watch: ", style="bold")
        watch.append(step.watch)
        lines += watch.wrap(_console(room), room)
        if check is not None:
            verdict = verdict_line(check)
            verdict.append("  (%s)" % ("n: the tour's summary" if last else "n: next claim"), style="dim")
            verdict.truncate(room, overflow="ellipsis")
            lines.append(verdict)
        return Text("\n").join(lines)


def _console(width: int):
    from rich.console import Console

    return Console(width=width)
