"""The compare view's model: one workload under every executor, one run at a time.

    CompareRun thread:  for each row: Session(config) → start → wait → close
                        (the row fills in live from the session's snapshots)

Rows are plain data the CompareTable draws; ``verdict`` answers the article's
question for this machine from the rows, and says when the article's
expectation does not hold here.
"""

from __future__ import annotations

import multiprocessing
import threading
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence

from execscope.errors import UsageError
from execscope.model import RunConfig, Snapshot

from .runs import SessionFactory, default_session_factory

ALL_EXECUTORS = ("serial", "thread", "process:fork", "process:spawn", "process:forkserver")


@dataclass
class CompareRow:
    label: str
    config: RunConfig
    status: str = "queued"  # queued running <final status> error skipped
    snap: Optional[Snapshot] = None
    tree_cpu_mean: Optional[float] = None  # % of one core, over the run
    error: str = ""

    @property
    def throughput(self) -> float:
        return self.snap.mean_throughput_per_s if self.snap else 0.0

    @property
    def wall_s(self) -> float:
        return self.snap.run_elapsed_s if self.snap else 0.0

    @property
    def p95(self) -> Optional[float]:
        if not self.snap or not self.snap.breakdown.tasks:
            return None
        return self.snap.latency_s[1]

    @property
    def ipc_share(self) -> Optional[float]:
        if not self.snap or not self.snap.breakdown.tasks:
            return None
        return self.snap.breakdown.ipc_share

    @property
    def cpu_percent(self) -> Optional[float]:
        if self.done and self.wall_s < 0.5:
            return None  # over before the CPU sampler saw it run
        if self.tree_cpu_mean is not None:
            return self.tree_cpu_mean
        return self.snap.cpu.tree_percent if self.snap else None

    @property
    def done(self) -> bool:
        return self.status not in ("queued", "running")


def usable_workers() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def compare_configs(base: RunConfig, workload_executors: Sequence[str] = ("serial", "thread", "process"),
                    start_methods: Optional[Sequence[str]] = None,
                    workers: Optional[int] = None) -> List[CompareRow]:
    """One row per executor the workload supports, same tasks and worker count."""
    if start_methods is None:
        start_methods = multiprocessing.get_all_start_methods()
    n = workers or base.workers or usable_workers()
    common = dict(params=dict(base.params), python=base.python, timeout=base.timeout,
                  tasks=base.tasks, duration=base.duration, gil_sampling=base.gil_sampling)
    rows = []
    for spec in ALL_EXECUTORS:
        kind, _, method = spec.partition(":")
        if kind not in workload_executors:
            continue
        if method and method not in start_methods:
            continue
        if kind == "serial":
            cfg = RunConfig(base.workload, executor="serial", **common)
        elif kind == "thread":
            cfg = RunConfig(base.workload, executor="thread", workers=n, **common)
        else:
            cfg = RunConfig(base.workload, executor="process", start_method=method, workers=n, **common)
        rows.append(CompareRow(cfg.label, cfg))
    return rows


def speedup(row: CompareRow, rows: Sequence[CompareRow]) -> Optional[float]:
    base = next((r for r in rows if r.config.executor == "serial"), None)
    if base is None or base.throughput <= 0 or row.throughput <= 0:
        return None
    return row.throughput / base.throughput


def verdict(rows: Sequence[CompareRow], expected_best: str = "") -> str:
    """One sentence: which executor won here, by how much, and versus the article."""
    finished = [r for r in rows if r.status == "completed" and r.throughput > 0]
    if not finished:
        if any(not r.done for r in rows):
            return "Running…"
        return "No run completed: nothing to compare."
    best = max(finished, key=lambda r: r.throughput)
    text = "Fastest here: %s at %.1f tasks/s" % (best.label, best.throughput)
    up = speedup(best, rows)
    if up is not None and best.config.executor != "serial":
        text += " (%.2fx serial)" % up
    text += "."
    if expected_best and all(r.done for r in rows):
        if best.config.executor == expected_best:
            text += " As the article expects (%s)." % expected_best
        else:
            theirs = [r for r in finished if r.config.executor == expected_best]
            close = max(theirs, key=lambda r: r.throughput) if theirs else None
            if close is not None and close.throughput >= 0.9 * best.throughput:
                text += " The article expects %s: %s is within %d%% of it here." % (
                    expected_best, close.label, round(100 * (1 - close.throughput / best.throughput)))
            else:
                text += " The article expects %s to win: not on this machine." % expected_best
    return text


class CompareRun:
    """Runs the rows one after another in its own thread."""

    def __init__(self, rows: List[CompareRow], notify: Callable[[], None], *,
                 factory: SessionFactory = default_session_factory, refresh_hz: float = 10.0,
                 registry: Any = None) -> None:
        self.rows = rows
        self.notify = notify
        self.factory = factory
        self.refresh_hz = refresh_hz
        self.registry = registry
        self.closed = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._session: Any = None
        self._thread: Optional[threading.Thread] = None

    def begin(self) -> "CompareRun":
        if self.registry is not None:
            self.registry.add(self)
        self._thread = threading.Thread(target=self._loop, name="execscope-tui-compare", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        try:
            for row in self.rows:
                if self._stop.is_set():
                    row.status = "skipped"
                    continue
                self._one(row)
                self._notify()
        finally:
            self.closed.set()
            if self.registry is not None:
                self.registry.discard(self)
            self._notify()

    def _one(self, row: CompareRow) -> None:
        def listener(snap: Snapshot) -> None:
            row.snap = snap
            self._notify()

        session = None
        row.status = "running"
        self._notify()
        try:
            session = self.factory(row.config, listener, self.refresh_hz)
            with self._lock:
                self._session = session
            if self._stop.is_set():
                row.status = "skipped"
                return
            session.start()
            session.wait()
        except UsageError as exc:
            row.status, row.error = "error", str(exc)
        except Exception as exc:
            row.status, row.error = "error", "could not run: %s" % exc
        finally:
            with self._lock:
                self._session = None
            if session is not None and row.status != "skipped":
                try:
                    session.close()
                except Exception:
                    pass
                snap = session.snapshot()
                if snap is not None:
                    row.snap = snap
                    if row.status == "running":
                        row.status = snap.status
                    mean = getattr(session, "tree_cpu_mean", None)
                    row.tree_cpu_mean = mean() if mean else None
                elif row.status == "running":
                    row.status = "error"
                    row.error = row.error or "the run produced no data"

    def _notify(self) -> None:
        try:
            self.notify()
        except Exception:
            pass

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            session = self._session
        if session is not None:
            threading.Thread(target=_quiet_stop, args=(session,), daemon=True).start()

    def join(self, timeout: Optional[float] = None) -> bool:
        return self.closed.wait(timeout) if self._thread is not None else True


def _quiet_stop(session: Any) -> None:
    try:
        session.stop()
    except Exception:
        pass
