"""What the runner has told the session so far, and the run's timeline.

``RunState`` is updated by the session's reader thread, one telemetry
message at a time (see ``execscope.protocol``), and read under its lock when
a snapshot is built.  ``Timeline`` keeps about ten points a second for the
JSON and halves itself when full, so a long session stays bounded.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Mapping, Optional, Tuple

from . import protocol
from .metrics import TaskTotals
from .model import Breakdown, Snapshot

_KEY, _T_STARTED = protocol.WORKER_INDEX["key"], protocol.WORKER_INDEX["t_started"]

TIMELINE_LIMIT = 36_000  # ~1 hour at 10 Hz before halving
OUTPUT_TAIL_LINES = 200


@dataclass(frozen=True)
class StateCopy:
    """What a snapshot needs of the run state, copied at one moment (``RunState.copy``)."""

    tick: Mapping[str, Any] = field(default_factory=dict)
    hello: Mapping[str, Any] = field(default_factory=dict)
    pool: Mapping[str, Any] = field(default_factory=dict)
    breakdown: Breakdown = Breakdown()
    latency: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    rates: Tuple[Tuple[float, int], ...] = ()
    first_error: str = ""
    bytes_out: int = 0
    bytes_in: int = 0
    first_begin: Optional[float] = None
    first_submit: Optional[float] = None
    last_end: Optional[float] = None
    worker_started: Mapping[str, float] = field(default_factory=dict)
    # Threads alive when the pool's workers were forked: the runner says so
    # once submission ends; until then, those alive at pool creation.
    fork_threads: Tuple[str, ...] = ()
    warnings: Tuple[str, ...] = ()  # "category: message", the last ten
    exits: Tuple[Tuple[int, int, float], ...] = ()  # (pid, exit code, t) of dead process workers


class RunState:
    """Everything the runner has told us so far (updated by the reader thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hello: Dict[str, Any] = {}
        self.pool: Dict[str, Any] = {}
        self.tick: Dict[str, Any] = {}
        self.totals = TaskTotals()
        self.rates: Deque[Tuple[float, int]] = deque(maxlen=64)
        self.marks: Deque[Dict[str, Any]] = deque(maxlen=1000)
        self.warnings: Deque[Dict[str, Any]] = deque(maxlen=100)
        self.errors: List[Dict[str, Any]] = []
        self.exits: List[Dict[str, Any]] = []
        self.submitted_info: Dict[str, Any] = {}
        self.done: Dict[str, Any] = {}
        self.fatal: Dict[str, Any] = {}
        self.worker_started: Dict[str, float] = {}

    def copy(self) -> StateCopy:
        with self.lock:
            totals = self.totals
            return StateCopy(
                tick=dict(self.tick),
                hello=self.hello,
                pool=self.pool,
                breakdown=totals.breakdown(),
                latency=totals.latency.percentiles(),
                rates=tuple(self.rates),
                first_error=self.errors[0]["message"] if self.errors else "",
                bytes_out=totals.bytes_out,
                bytes_in=totals.bytes_in,
                first_begin=totals.first_begin,
                first_submit=totals.first_submit,
                last_end=totals.last_end,
                worker_started=dict(self.worker_started),
                fork_threads=tuple(self.submitted_info.get("threads_at_first_submit")
                                   or self.pool.get("threads") or ()),
                warnings=tuple("%s: %s" % (w["category"], w["message"]) for w in list(self.warnings)[-10:]),
                exits=tuple((e["pid"], e["exitcode"], e["t"]) for e in self.exits),
            )

    def apply(self, msg: Dict[str, Any]) -> None:
        kind = msg.get("k")
        with self.lock:
            if kind == "tick":
                if "totals" in msg:
                    self.totals = TaskTotals(msg["totals"])
                self.tick = msg
                self.rates.append((msg["t"], msg["completed"] + msg["failed"]))
                for row in msg.get("workers", ()):
                    started = row[_T_STARTED]
                    if started:
                        self.worker_started.setdefault(row[_KEY], started)
            elif kind == "hello":
                self.hello = msg
            elif kind == "pool":
                self.pool = msg
            elif kind == "submitted":
                self.submitted_info = msg
            elif kind == "mark":
                self.marks.append(msg)
            elif kind == "warn":
                self.warnings.append(msg)
            elif kind == "error":
                if len(self.errors) < 5:
                    self.errors.append(msg)
            elif kind == "exit":
                self.exits.append(msg)
            elif kind == "done":
                self.done = msg
            elif kind == "fatal":
                self.fatal = msg


class RunOutput:
    """What the watched process printed: its last lines and how many bytes in all."""

    def __init__(self, lines: int = OUTPUT_TAIL_LINES) -> None:
        self.tail: Deque[str] = deque(maxlen=lines)
        self.bytes = 0
        self._lock = threading.Lock()  # stdout and stderr are read by two threads

    def add_bytes(self, n: int) -> None:
        with self._lock:
            self.bytes += n

    def add_line(self, line: str) -> None:
        self.tail.append(line)

    def lines(self) -> Tuple[str, ...]:
        return tuple(self.tail)


class Timeline:
    """~10 points a second, halved (every other point kept) when full."""

    def __init__(self, limit: int = TIMELINE_LIMIT) -> None:
        self.limit = limit
        self.points: List[Dict[str, Any]] = []
        self.stride = 1
        self._n = 0

    def add(self, snap: Snapshot) -> None:
        self._n += 1
        if self._n % self.stride:
            return
        c = snap.counts
        self.points.append({
            "t_s": round(snap.t_s, 3),
            "submitted": c.submitted,
            "queue_depth": c.queued,
            "dispatched": c.dispatched,
            "running": c.running,
            "blocked": c.blocked,
            "completed": c.completed,
            "failed": c.failed,
            "throughput_per_s": round(snap.throughput_per_s, 2),
            "cpu_percent": round(snap.cpu.total_percent, 1),
            "tree_cpu_percent": round(snap.cpu.tree_percent, 1),
        })
        if len(self.points) > self.limit:
            self.points = self.points[::2]
            self.stride *= 2


class CpuMeans:
    """Mean per-core and tree CPU over a run's running ticks.

    A run shorter than one tick never shows a running snapshot; then the means
    fall back to every tick that had a reading, so the report is never empty."""

    def __init__(self) -> None:
        self._running = _Sums()
        self._any = _Sums()

    def add(self, per_core: List[float], tree_percent: float, running: bool) -> None:
        if not per_core:
            return
        self._any.add(per_core, tree_percent)
        if running:
            self._running.add(per_core, tree_percent)

    def _pick(self) -> "_Sums":
        return self._running if self._running.n else self._any

    def per_core(self) -> List[float]:
        sums = self._pick()
        return [round(s / sums.n, 1) for s in sums.cores] if sums.n else []

    def tree(self) -> float:
        sums = self._pick()
        return sums.tree / sums.n if sums.n else 0.0


class _Sums:
    def __init__(self) -> None:
        self.cores: List[float] = []
        self.tree = 0.0
        self.n = 0

    def add(self, per_core: List[float], tree_percent: float) -> None:
        if len(self.cores) != len(per_core):
            self.cores = [0.0] * len(per_core)
        for i, value in enumerate(per_core):
            self.cores[i] += value
        self.tree += tree_percent
        self.n += 1
