"""The box every live panel lives in: a border, a scrollable body, an alert light.

A panel keeps the newest snapshot and redraws its body from it, at its own
width; ``show`` is called by the screen inside ``batch_update``.  Drawing is
the TUI's main cost, so a body is never wrapped by Textual (panels wrap their
own prose to the width they are given, see ``fmt.wrap``), an unchanged body
is not sent again, and a layout pass happens only when the number of lines
changes.  A panel whose body is long (``redraw_every_s``: the worker table
of a big pool) is redrawn at most that often, the newest snapshot always
drawn last, and may draw only its lines in view (``make_body``).  While an
active alert names the panel (``Alert.panel``) the border turns to a double
line and its subtitle names the alert: shape and words, not colour alone.
A panel whose figures the run cannot measure (attach mode: ``Snapshot.
unavailable``) says so in place of them, with the reason.
"""

from __future__ import annotations

import time
from typing import List, Optional, Sequence, Tuple

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from execscope.model import Alert, Snapshot

from ..fmt import wrap


class Panel(VerticalScroll, can_focus=True):
    PANEL = ""  # the name detectors use in Alert.panel
    TITLE = ""
    SCROLLBAR_ROOM = 1  # columns kept free for a vertical scrollbar
    # Names in Snapshot.unavailable this panel would show (attach mode cannot fill them).
    COVERS: Tuple[str, ...] = ()

    def __init__(self, *, id: Optional[str] = None, classes: Optional[str] = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = self.TITLE
        self.snap: Optional[Snapshot] = None
        self.history: Sequence[Snapshot] = ()
        self.body = self.make_body()
        self._drawn: Optional[Text] = None
        self._lines = -1
        self._drawn_at = 0.0
        self._deferred = False

    def make_body(self) -> Widget:
        """What holds the drawn text: a Static; a long body draws only the
        lines in view (``LinesBody``)."""
        return Static(classes="panel-body", markup=False)

    def compose(self) -> ComposeResult:
        yield self.body

    def show(self, snap: Optional[Snapshot], history: Sequence[Snapshot] = ()) -> None:
        self.snap = snap
        self.history = history
        every = self.redraw_every_s()
        wait = self._drawn_at + every - time.monotonic() if every else 0.0
        if wait > 0 and self.is_mounted:
            if not self._deferred:  # one redraw of whatever is newest then
                self._deferred = True
                self.set_timer(wait, self._redraw_deferred)
            return
        self.redraw()

    def redraw_every_s(self) -> float:
        """The least time between two redraws (0: at every snapshot)."""
        return 0.0

    def _redraw_deferred(self) -> None:
        self._deferred = False
        self.redraw()

    def redraw(self) -> None:
        # inside border and padding, less a column kept for a scrollbar, so that
        # a scrollbar appearing never re-wraps what was laid out for the width
        width = max(10, self.outer_size.width - self.styles.gutter.width - self.SCROLLBAR_ROOM)
        text = self.render_body(width)
        drawn = self._drawn
        if drawn is not None and drawn.plain == text.plain and drawn.spans == text.spans:
            return
        lines = text.plain.count("\n") + 1
        self.body.update(text, layout=lines != self._lines)
        self._drawn = text
        self._lines = lines
        self._drawn_at = time.monotonic()

    def render_body(self, width: int) -> Text:  # pragma: no cover - overridden
        return Text("")

    def unavailable(self) -> List[Tuple[str, str]]:
        """(name, why) for each part of this panel the run cannot fill."""
        snap = self.snap
        if snap is None or not self.COVERS:
            return []
        return [(name, why) for name, why in snap.unavailable if name in self.COVERS]

    def unavailable_head(self, text: Text, width: int, reasons: Sequence[Tuple[str, str]]) -> None:
        """``⊘ queue, tasks: not available in attach mode``."""
        mode = "attach" if self.snap is not None and self.snap.source == "attach" else "this"
        wrap(text, "⊘ %s: not available in %s mode" % (", ".join(name for name, _ in reasons), mode),
             width, style="bold yellow", indent="  ")

    def unavailable_why(self, text: Text, width: int, reasons: Sequence[Tuple[str, str]]) -> None:
        """One paragraph of why per part."""
        for name, why in reasons:
            text.append("%s: " % name, style="bold")
            wrap(text, why, width, style="dim", first=len(name) + 2, indent="  ")

    def on_resize(self) -> None:
        self.redraw()

    def set_alerts(self, alerts: Sequence[Alert]) -> None:
        mine = sorted({a.kind for a in alerts if a.active and a.panel == self.PANEL})
        subtitle = ("⚠ " + ", ".join(mine)) if mine else ""
        if subtitle != self.border_subtitle:
            self.set_class(bool(mine), "-alerting")
            self.border_subtitle = subtitle
