"""What every detector shares: the ``Finding`` it returns and windowed figures.

Windows, not run totals.  A Snapshot's ``Breakdown`` holds means since the
start of the run, which would hide a problem that begins late and keep one
alive after it ends.  Detectors therefore look at the recent past, computed
from the history itself: a Breakdown carries ``tasks`` and the mean of each
phase, so ``mean * tasks`` is the cumulative sum and the difference between
two snapshots is exactly the tasks that finished in between.  Nothing extra is
stored per snapshot; the run JSON keeps reporting the run totals.

A window is about one second (``WINDOW_S``), stretched back until it holds
enough finished tasks to say anything (``MIN_TASKS``), never before the point
a detector names as its base (the start, or the end of the warm-up).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..model import Breakdown, Snapshot, WorkerView

WINDOW_S = 1.0
MIN_TASKS = 3
MIN_SAMPLES = 5  # ticks (0.5 s at 10 Hz) before a CPU- or scheduler-based verdict
# Voluntary context switches per switch interval (sys.getswitchinterval()) that
# mean a computing thread keeps waiting for the GIL (see sampling/sched.py).
SLEEPS_PER_INTERVAL = 0.25
DEFAULT_SWITCH_INTERVAL_S = 0.005

PHASES = ("queue", "ser", "xfer", "deser", "compute", "rser", "rxfer", "rdeser", "bytes_out", "bytes_in")


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str  # info | warning | critical
    message: str  # one sentence: what is happening, with the numbers
    remedy: str  # one sentence: what to do about it
    evidence: Mapping[str, Any] = field(default_factory=dict)
    panel: str = ""  # cores | workers | queue | breakdown
    since_t_s: Optional[float] = None  # when the condition began, if known


Detector = Callable[[Sequence[Snapshot]], Optional[Finding]]


def was_active(history: Sequence[Snapshot], kind: str) -> bool:
    """Whether the alert was active at the previous tick (for hysteresis: a
    detector keeps an alert with a looser threshold than it takes to raise it,
    so a figure hovering at the line does not flap)."""
    if len(history) < 2:
        return False
    return any(a.kind == kind and a.active for a in history[-2].alerts)


def recent(history: Sequence[Snapshot], seconds: float = WINDOW_S, running_only: bool = True) -> List[Snapshot]:
    """The snapshots of the last ``seconds`` (newest last), optionally only
    those taken while the run was running."""
    if not history:
        return []
    t_end = history[-1].t_s
    out = []
    for snap in reversed(history):
        if t_end - snap.t_s > seconds:
            break
        if not running_only or snap.status == "running":
            out.append(snap)
    out.reverse()
    return out


def mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def _sums(b: Breakdown) -> Tuple[float, ...]:
    return tuple(getattr(b, name) * b.tasks for name in PHASES)


def delta_breakdown(older: Breakdown, newer: Breakdown) -> Breakdown:
    """Means over the tasks that finished between two cumulative Breakdowns."""
    n = newer.tasks - older.tasks
    if n <= 0:
        return Breakdown()
    diffs = [max(0.0, b - a) for a, b in zip(_sums(older), _sums(newer))]
    return Breakdown(tasks=n, **{name: d / n for name, d in zip(PHASES, diffs)})


@dataclass(frozen=True)
class Window:
    breakdown: Breakdown  # means over the tasks finished in the window
    t_from: float
    t_to: float
    finished: int  # tasks finished in the window (counts, incl. failed)
    start: int = 0  # index in the history of the snapshot the window starts at

    @property
    def seconds(self) -> float:
        return max(0.0, self.t_to - self.t_from)

    @property
    def tasks_per_s(self) -> float:
        return self.finished / self.seconds if self.seconds > 0 else 0.0


def task_window(history: Sequence[Snapshot], seconds: float = WINDOW_S, min_tasks: int = MIN_TASKS,
                base: int = 0) -> Optional[Window]:
    """Tasks finished in the last ``seconds``, stretched back (not before
    ``history[base]``) until at least ``min_tasks`` are in; None if even the
    whole span holds fewer."""
    if len(history) < 2 or base >= len(history) - 1:
        return None
    newest = history[-1]
    start = base
    for i in range(len(history) - 2, base - 1, -1):
        snap = history[i]
        if newest.t_s - snap.t_s >= seconds and newest.breakdown.tasks - snap.breakdown.tasks >= min_tasks:
            start = i
            break
    older = history[start]
    b = delta_breakdown(older.breakdown, newest.breakdown)
    if b.tasks < min_tasks:
        return None
    return Window(b, older.t_s, newest.t_s, newest.counts.finished - older.counts.finished, start)


def warm_base(history: Sequence[Snapshot], stop: int = 0) -> Optional[int]:
    """Index of the first snapshot from which no process worker is still in its
    first task (and at least one has finished one).  Under spawn and
    forkserver a worker's first task also imports the task's module while
    unpickling it, which would read as IPC cost; tasks finished after this
    point are second-or-later tasks (a worker that never got a task does not
    hold the window back).  Looks no further back than ``stop``."""
    found = None
    for i in range(len(history) - 1, stop - 1, -1):
        workers = [w for w in history[i].workers if w.kind == "process"]
        warm = any(w.done >= 1 for w in workers) and all(
            w.done >= 1 or w.state in ("idle", "starting") for w in workers)
        if not warm:
            break
        found = i
    return found


def worker_series(window: Sequence[Snapshot], key: str) -> List[WorkerView]:
    """One worker's rows across a window (where it appears)."""
    out = []
    for snap in window:
        for w in snap.workers:
            if w.key == key:
                out.append(w)
                break
    return out


def observed_t_s(w: WorkerView, fallback: float) -> float:
    """When the runner read this worker row (its tick), in seconds since launch."""
    if w.since_s is not None:
        return w.since_s + w.state_age_s
    return fallback


def switch_rates(window: Sequence[Snapshot]) -> Dict[str, float]:
    """Voluntary context switches per second of each worker over the window."""
    first: Dict[str, tuple] = {}
    last: Dict[str, tuple] = {}
    for s in window:
        for w in s.workers:
            if w.voluntary_switches is None:
                continue
            first.setdefault(w.key, (s.t_s, w.voluntary_switches))
            last[w.key] = (s.t_s, w.voluntary_switches)
    rates = {}
    for key, (t0, v0) in first.items():
        t1, v1 = last[key]
        if t1 - t0 > 0:
            rates[key] = max(0, v1 - v0) / (t1 - t0)
    return rates


def r(value: Optional[float], digits: int = 4) -> Optional[float]:
    return None if value is None else round(float(value), digits)
