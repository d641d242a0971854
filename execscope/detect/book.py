"""The alert log: findings in, alerts that start, last and clear out.

``AlertBook`` turns the stream of findings (one list per tick) into alerts
that start when a kind first appears (at the finding's ``since_t_s`` when it
knows when the condition began), update their evidence while it lasts, and
clear when a tick no longer finds it.  One active alert per kind.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, List, Optional, Sequence, Tuple

from ..model import Alert
from .base import Finding

MAX_ALERTS = 200


class AlertBook:
    """Alerts over time: raised by findings, updated while they last, then cleared."""

    def __init__(self, limit: int = MAX_ALERTS) -> None:
        self.limit = limit
        self._active: Dict[str, Alert] = {}
        self._log: List[Alert] = []  # oldest first, bounded
        self._cleared: Dict[str, float] = {}  # kind -> when its last alert cleared

    def update(self, findings: Sequence[Finding], t_s: float) -> Tuple[Alert, ...]:
        seen = set()
        for f in findings:
            seen.add(f.kind)
            current = self._active.get(f.kind)
            if current is None:
                start = f.since_t_s if f.since_t_s is not None and f.since_t_s <= t_s else t_s
                # A new episode cannot have begun before the previous one ended.
                start = max(start, self._cleared.get(f.kind, start))
                alert = Alert(kind=f.kind, severity=f.severity, t_s=start, message=f.message,
                              remedy=f.remedy, evidence=dict(f.evidence), panel=f.panel)
                self._log.append(alert)
            else:
                alert = replace(current, severity=f.severity, message=f.message, remedy=f.remedy,
                                evidence=dict(f.evidence))
                self._replace(current, alert)
            self._active[f.kind] = alert
        for kind in list(self._active):
            if kind not in seen:
                old = self._active.pop(kind)
                self._cleared[kind] = t_s
                self._replace(old, replace(old, active=False, cleared_t_s=t_s))
        if len(self._log) > self.limit:
            keep = [a for a in self._log if a.active]
            rest = [a for a in self._log if not a.active][-(self.limit - len(keep)):]
            self._log = sorted(keep + rest, key=lambda a: a.t_s)
        return self.alerts()

    def _replace(self, old: Alert, new: Alert) -> None:
        for i in range(len(self._log) - 1, -1, -1):
            if self._log[i] is old:
                self._log[i] = new
                return

    def alerts(self) -> Tuple[Alert, ...]:
        """Newest first."""
        return tuple(reversed(self._log))

    def active(self, kind: str) -> Optional[Alert]:
        return self._active.get(kind)
