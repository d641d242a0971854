"""Detectors: pure functions over the snapshot history, and the alert log.

Each detector looks at the newest snapshots and returns a ``Finding`` when its
condition holds *now*, or None.  ``AlertBook`` turns the stream of findings
into alerts that start, update their evidence while the condition lasts, and
clear when it ends.  Nothing here touches a process or a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .model import Alert, Snapshot

MAX_ALERTS = 200


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    message: str
    remedy: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    panel: str = ""
    since_t_s: Optional[float] = None  # when the condition began, if known


Detector = Callable[[Sequence[Snapshot]], Optional[Finding]]


def starvation(history: Sequence[Snapshot]) -> Optional[Finding]:
    """Every worker waits on a future of its own executor while tasks queue (C5)."""
    snap = history[-1]
    if snap.config.executor == "process" or not snap.workers:
        return None
    workers = snap.max_workers or len(snap.workers)
    blocked = [w for w in snap.workers if w.state == "blocked"]
    if len(blocked) < workers or snap.counts.queued <= 0:
        return None
    waits = {w.label: w.blocked_on for w in blocked}
    waited = sorted({t for t in waits.values() if t >= 0})
    return Finding(
        kind="starvation",
        severity="critical",
        message=(
            "deadlock: all %d workers are blocked waiting on tasks of their own executor, "
            "and those %d queued tasks have no worker left to run them" % (workers, snap.counts.queued)
        ),
        remedy=(
            "do not wait on futures of the pool you run in: submit sub-tasks to a separate "
            "executor, chain them with add_done_callback, or restructure as a single level"
        ),
        evidence={
            "blocked_workers": sorted(waits),
            "waiting_on_tasks": waited,
            "queued": snap.counts.queued,
            "max_workers": workers,
        },
        panel="workers",
        since_t_s=max(snap.t_s - w.state_age_s for w in blocked) if blocked else None,
    )


DETECTORS: Tuple[Detector, ...] = (starvation,)


def evaluate(history: Sequence[Snapshot], detectors: Sequence[Detector] = DETECTORS) -> List[Finding]:
    if not history:
        return []
    found = []
    for detector in detectors:
        finding = detector(history)
        if finding is not None:
            found.append(finding)
    return found


class AlertBook:
    """Alerts over time: raised by findings, updated while they last, then cleared."""

    def __init__(self, limit: int = MAX_ALERTS) -> None:
        self.limit = limit
        self._active: Dict[str, Alert] = {}
        self._log: List[Alert] = []  # oldest first, bounded

    def update(self, findings: Sequence[Finding], t_s: float) -> Tuple[Alert, ...]:
        seen = set()
        for f in findings:
            seen.add(f.kind)
            current = self._active.get(f.kind)
            if current is None:
                start = f.since_t_s if f.since_t_s is not None and f.since_t_s <= t_s else t_s
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
