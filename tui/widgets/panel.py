"""The box every live panel lives in: a border, a scrollable body, an alert light.

A panel keeps the newest snapshot and redraws its body from it, at its own
width; ``show`` is called by the screen inside ``batch_update``.  Drawing is
the TUI's main cost, so a body is never wrapped by Textual (panels wrap their
own prose to the width they are given, see ``fmt.wrap``), an unchanged body
is not sent again, and a layout pass happens only when the number of lines
changes.  While an
active alert names the panel (``Alert.panel``) the border turns to a double
line and its subtitle names the alert: shape and words, not colour alone.
"""

from __future__ import annotations

from typing import Optional, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from execscope.model import Alert, Snapshot


class Panel(VerticalScroll, can_focus=True):
    PANEL = ""  # the name detectors use in Alert.panel
    TITLE = ""
    SCROLLBAR_ROOM = 1  # columns kept free for a vertical scrollbar

    def __init__(self, *, id: Optional[str] = None, classes: Optional[str] = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = self.TITLE
        self.snap: Optional[Snapshot] = None
        self.history: Sequence[Snapshot] = ()
        self.body = Static(classes="panel-body", markup=False)
        self._drawn: Optional[Text] = None
        self._lines = -1

    def compose(self) -> ComposeResult:
        yield self.body

    def show(self, snap: Optional[Snapshot], history: Sequence[Snapshot] = ()) -> None:
        self.snap = snap
        self.history = history
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

    def render_body(self, width: int) -> Text:  # pragma: no cover - overridden
        return Text("")

    def on_resize(self) -> None:
        self.redraw()

    def set_alerts(self, alerts: Sequence[Alert]) -> None:
        mine = sorted({a.kind for a in alerts if a.active and a.panel == self.PANEL})
        subtitle = ("⚠ " + ", ".join(mine)) if mine else ""
        if subtitle != self.border_subtitle:
            self.set_class(bool(mine), "-alerting")
            self.border_subtitle = subtitle
