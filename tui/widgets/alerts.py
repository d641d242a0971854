"""Alerts: what the detectors raised, newest first, with evidence and remedy.

    ● 0.3s critical starvation
      deadlock: all 2 workers are blocked waiting on tasks of their own executor…
      evidence blocked_workers worker_0, worker_1 · queued 9
      → do not wait on futures of the pool you run in…

The run's own end (failed, timeout, deadlock), the first task error and
Python warnings from the runner are listed above the alerts: they are what a
person needs next to them.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from execscope import detect

from ..fmt import STATUS, wrap
from .panel import Panel

SEVERITY = {"critical": ("✗", "bold red"), "warning": ("⚠", "bold yellow"), "info": ("»", "cyan")}


def evidence_text(evidence: Any) -> str:
    parts = []
    for key, value in dict(evidence).items():
        if isinstance(value, (list, tuple)):
            shown = ", ".join(str(v) for v in list(value)[:8])
            if len(value) > 8:
                shown += ", … (%d)" % len(value)
            value = shown
        elif isinstance(value, float):
            value = "%.3g" % value
        parts.append("%s %s" % (key, value))
    return " · ".join(parts)


def detector_names() -> str:
    return ", ".join(getattr(d, "__name__", "?").replace("_", " ") for d in detect.DETECTORS)


class AlertsPanel(Panel):
    PANEL = "alerts"
    TITLE = "Alerts"

    def render_body(self, width: int) -> Text:
        snap = self.snap
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
        if snap.first_error:
            text.append("✗ task error: ", style="bold red")
            wrap(text, snap.first_error, width, first=14, indent="  ")
        for warning in reversed(snap.warnings[-3:]):
            text.append("⚠ ", style="yellow")
            wrap(text, warning, width, style="yellow", first=2, indent="  ")
        if not snap.alerts:
            if not text:
                text.append("✓ no alerts", style="green")
                wrap(text, " · watching for: %s" % detector_names(), width, style="dim", first=11)
            text.rstrip()
            return text
        for alert in snap.alerts:
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
            if alert.evidence:
                text.append("  evidence ", style="dim")
                wrap(text, evidence_text(alert.evidence), width, style=body or "dim", first=11, indent="  ")
            if alert.remedy:
                text.append("  → ", style="bold" if alert.active else "dim")
                wrap(text, alert.remedy, width, style="italic" if alert.active else "dim", first=4,
                     indent="    ")
        text.rstrip()
        return text
