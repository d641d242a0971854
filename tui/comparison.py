"""The compare view's model: one workload under every executor, one run at a time.

    CompareRun thread:  for each row: Session(config) → start → wait → close
                        (the row fills in live from the session's snapshots,
                        then holds the run's RunRecord: the figures
                        ``execscope compare`` reads)

The plan, the rows' figures, the speedups and the verdict are
``execscope.compare``'s (the same as ``execscope compare``): this module only
holds the rows while they run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence

from execscope import compare, report
from execscope.errors import UsageError
from execscope.model import RunConfig, RunRecord, Snapshot

from .runs import SessionFactory, default_session_factory


@dataclass
class CompareRow:
    label: str
    config: RunConfig
    status: str = "queued"  # queued running <final status> error skipped
    snap: Optional[Snapshot] = None
    tree_cpu_mean: Optional[float] = None  # % of one core, over the run
    cpu_means: Optional[List[float]] = None  # per logical CPU, over the run
    error: str = ""
    record: Optional[RunRecord] = None  # once the run is over

    def finished_with(self, record: RunRecord) -> None:
        """The run is over: its record replaces what was seen live."""
        self.record = record
        self.snap = record.snapshot
        self.tree_cpu_mean = record.tree_cpu_mean
        self.cpu_means = list(record.cpu_means)

    def row(self, serial_throughput: Optional[float] = None) -> Optional[compare.Row]:
        """The comparison's row for this run so far (None before its first snapshot);
        once the run is over, the row ``execscope compare`` makes of its record."""
        if self.record is not None:
            row = compare.row_from_run(report.run_json(self.record), serial_throughput)
        elif self.snap is None:
            return None
        else:
            row = compare.row_from_snapshot(self.snap, serial_throughput, self.tree_cpu_mean, self.cpu_means)
        if self.done and row.status != self.status:
            from dataclasses import replace

            row = replace(row, status=self.status)
        return row

    @property
    def throughput(self) -> float:
        return self.snap.mean_throughput_per_s if self.snap else 0.0

    @property
    def wall_s(self) -> float:
        return self.snap.run_elapsed_s if self.snap else 0.0

    @property
    def p95(self) -> Optional[float]:
        row = self.row()
        return row.p95_s if row else None

    @property
    def ipc_share(self) -> Optional[float]:
        if not self.snap or not self.snap.breakdown.tasks:
            return None
        return self.snap.breakdown.ipc_share

    @property
    def cpu_percent(self) -> Optional[float]:
        row = self.row()
        if row is None:
            return None
        if not self.done:
            return self.snap.cpu.tree_percent if self.snap else None
        return row.cpu_percent

    @property
    def done(self) -> bool:
        return self.status not in ("queued", "running")


def compare_configs(base: RunConfig) -> List[CompareRow]:
    """One row per configuration ``execscope compare`` would run for this
    workload (``compare.plan``): same tasks, the live run's worker count,
    else each executor's own default."""
    request = compare.CompareRequest(
        workload=base.workload, tasks=base.tasks, params=dict(base.params), python=base.python,
        timeout=base.timeout, gil_sampling=base.gil_sampling, workers=(base.workers,))
    return [CompareRow(c.label, c) for c in compare.plan(request)]


def rows_of(rows: Sequence[CompareRow]) -> List[compare.Row]:
    """The finished rows as the comparison's rows, speedups against serial."""
    done = [r.row() for r in rows if r.done]
    return compare.with_speedups([r for r in done if r is not None])


def speedup(row: CompareRow, rows: Sequence[CompareRow]) -> Optional[float]:
    base = compare.serial_of(rows_of(rows))
    mine = row.row(base)
    return mine.speedup if mine is not None and mine.throughput_per_s > 0 else None


def verdict(rows: Sequence[CompareRow], workload: str) -> str:
    """``execscope compare``'s verdict on the rows, once every row has run."""
    if any(not r.done for r in rows):
        return "Running…"
    table = rows_of(rows)
    snaps = [r.snap for r in rows if r.snap is not None]
    gil_enabled, usable = True, None
    if snaps:
        gil_enabled = snaps[0].interpreter.get("gil_enabled", True) is not False
        usable = snaps[0].machine.get("usable_cpus") or snaps[0].cpu.usable_cpus or None
    if not table:
        return "No run completed: nothing to compare."
    return compare.verdict_for(table, workload, gil_enabled, usable).reason


def finish_row(row: CompareRow, session: Any) -> None:
    """A closed session's record into its row (status, last snapshot, CPU means).
    A session without a record (a scripted one) leaves the last snapshot seen live."""
    record = session.record()
    if record is not None:
        row.finished_with(record)
    if row.snap is not None:
        if row.status in ("running", "queued"):
            row.status = row.snap.status
    elif row.status in ("running", "queued"):
        row.status = "error"
        row.error = row.error or "the run produced no data"


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
                finish_row(row, session)

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
