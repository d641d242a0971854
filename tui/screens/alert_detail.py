"""Every alert of the run whole: the message, all of its evidence (every list
entry, one item a line) and the remedy, with how the run ended above them.

    ✗ 0.3s starvation critical
      deadlock: all 2 workers are blocked waiting on tasks of their own executor…
      evidence
        form deadlock
        blocked_workers [worker_0, worker_1, worker_2, worker_3, worker_4, worker_5]
      → do not wait on futures of the pool you run in…

The Alerts panel has a few lines per alert; this is where the rest is read
(``a`` on the live screen, or Enter in the focused Alerts panel).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from execscope.model import Snapshot

from ..evidence import evidence_items
from ..fmt import STATUS, wrap
from ..widgets.alerts import SEVERITY


def detail_text(snap: Snapshot, width: int = 96) -> Text:
    text = Text()
    text.append("Alerts, whole", style="bold")
    text.append("   (Esc, Enter or q closes this)\n", style="dim")
    if snap.finished and snap.status != "completed":
        symbol, style = STATUS.get(snap.status, ("■", "bold"))
        head = "%s run ended: %s" % (symbol, snap.status)
        text.append("\n" + head, style=style)
        if snap.reason and not any(a.message == snap.reason for a in snap.alerts):
            text.append(" — ")
            wrap(text, snap.reason, width, first=len(head) + 3, indent="  ")
        else:
            text.append("\n")
    if snap.first_error:
        text.append("\n✗ first task error: ", style="bold red")
        wrap(text, snap.first_error, width, first=20, indent="  ")
    for warning in snap.warnings:
        text.append("\n⚠ ", style="yellow")
        wrap(text, warning, width, style="yellow", first=2, indent="  ")
    if not snap.alerts:
        text.append("\n✓ no alerts", style="green")
        return text
    for alert in sorted(snap.alerts, key=lambda a: not a.active):
        symbol, style = SEVERITY.get(alert.severity, ("•", "bold"))
        if not alert.active:
            symbol, style = "○", "dim"
        text.append("\n%s %.1fs %s %s" % (symbol, alert.t_s, alert.kind, alert.severity), style=style)
        if not alert.active:
            text.append(" · cleared at %.1fs" % (alert.cleared_t_s or 0.0), style="dim")
        if alert.panel:
            text.append(" · panel: %s" % alert.panel, style="dim")
        text.append("\n  ")
        wrap(text, alert.message, width, first=2, indent="  ")
        items = evidence_items(alert.evidence, whole=True) if alert.evidence else []
        if items:
            text.append("  evidence\n", style="bold dim")
            for item in items:
                text.append("    ")
                wrap(text, item, width, first=4, indent="      ")
        if alert.remedy:
            text.append("  → ", style="bold")
            wrap(text, alert.remedy, width, style="italic", first=4, indent="    ")
    text.rstrip()
    return text


class AlertDetailScreen(ModalScreen):
    BINDINGS = [Binding("escape,enter,q,a", "close", "Close", tooltip="Close the alerts")]

    def __init__(self, snap: Snapshot) -> None:
        super().__init__()
        self.snap = snap

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            # the box is at most 100 wide, less its border, padding and scrollbar
            yield Static(detail_text(self.snap, min(100, self.app.size.width) - 5), markup=False)
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
