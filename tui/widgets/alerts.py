"""Alerts: what the detectors raised, active ones first, newest first, with evidence and remedy.

    ● 0.3s critical starvation
      deadlock: all 2 workers are blocked waiting on tasks of their own executor…
      evidence form deadlock · blocked_workers [worker_0, worker_1] · queued 9
      → do not wait on futures of the pool you run in…

The run's own end (failed, timeout, deadlock), the first task error and
Python warnings from the runner are listed above the alerts: they are what a
person needs next to them.  Evidence is formatted by ``execscope.tui.evidence``: units
from the key names, a few lines at most (the JSON keeps all of it).
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding

from execscope import detect

from ..evidence import evidence_lines
from ..fmt import STATUS, wrap
from .panel import Panel

SEVERITY = {"critical": ("✗", "bold red"), "warning": ("⚠", "bold yellow"), "info": ("»", "cyan")}


def detector_names(source: str = "runner") -> str:
    detectors = detect.DETECTORS
    if source == "attach":
        from execscope.attach import DETECTORS as detectors
    return ", ".join(getattr(d, "__name__", "?").replace("_", " ") for d in detectors)


def has_more(snap) -> bool:
    """Is there anything the panel shortens (an alert, an error, a warning)?"""
    return snap is not None and bool(snap.alerts or snap.first_error or snap.warnings)


class AlertsPanel(Panel):
    PANEL = "alerts"
    TITLE = "Alerts"
    BINDINGS = [Binding("enter", "open", "Open", show=False,
                        tooltip="Every alert whole: message, all the evidence, remedy")]

    def action_open(self) -> None:
        opener = getattr(self.screen, "action_alerts", None)
        if opener is not None:
            opener()

    def render_body(self, width: int) -> Text:
        snap = self.snap
        title = "Alerts · a: in full" if has_more(snap) else self.TITLE
        if title != self.border_title:
            self.border_title = title
        text = Text()
        if snap is None:
            return Text("no run yet", style="dim")
        if snap.status in ("failed", "timeout", "deadlock"):
            symbol, style = STATUS.get(snap.status, ("✗", "bold red"))
            head = "%s run ended: %s" % (symbol, snap.status)
            text.append(head, style=style)
            if snap.reason and not any(a.message == snap.reason for a in snap.alerts):
                text.append(" — ")
                wrap(text, snap.reason, width, first=len(head) + 3, indent="  ")
            else:
                text.append("\n")
        ended = Text()
        if snap.status not in ("failed", "timeout", "deadlock") and snap.finished and snap.reason \
                and snap.source != "runner":
            # how a program ended, or why watching it stopped
            symbol, style = STATUS.get(snap.status, ("■", "bold"))
            ended.append("%s %s: " % (symbol, snap.status), style=style)
            wrap(ended, snap.reason, width, first=len(snap.status) + 4, indent="  ")
        if snap.first_error:
            text.append("✗ task error: ", style="bold red")
            wrap(text, snap.first_error, width, first=14, indent="  ")
        for warning in reversed(snap.warnings[-3:]):
            text.append("⚠ ", style="yellow")
            wrap(text, warning, width, style="yellow", first=2, indent="  ")
        if not snap.alerts:
            if not text:
                text.append_text(ended)
                text.append("✓ no alerts", style="green")
                wrap(text, " · watching for: %s" % detector_names(snap.source), width, style="dim", first=11)
            else:
                text.append_text(ended)
            text.rstrip()
            return text
        text.append_text(ended)
        # active alerts first (newest first among them): a cleared one never hides a live one
        for alert in sorted(snap.alerts, key=lambda a: not a.active):
            symbol, style = SEVERITY.get(alert.severity, ("•", "bold"))
            if not alert.active:
                symbol, style = "○", "dim"
            text.append("%s %.1fs " % (symbol, alert.t_s), style=style)
            text.append(alert.kind, style=style + " underline" if alert.active else style)
            if alert.active:
                text.append(" %s\n" % alert.severity, style=style)
            else:
                text.append(" cleared at %.1fs\n" % (alert.cleared_t_s or 0.0), style="dim")
            body = "" if alert.active else "dim"
            text.append("  ")
            wrap(text, alert.message, width, style=body, first=2, indent="  ")
            lines = evidence_lines(alert.evidence, width, first=11, indent=4,
                                   max_lines=3 if width >= 60 else 5) if alert.evidence else []
            for i, line in enumerate(lines):
                text.append("  evidence " if i == 0 else "    ", style="dim")
                text.append(line + "\n", style=body or "dim")
            if alert.remedy:
                text.append("  → ", style="bold" if alert.active else "dim")
                wrap(text, alert.remedy, width, style="italic" if alert.active else "dim", first=4,
                     indent="    ")
        text.rstrip()
        return text
