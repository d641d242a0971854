"""Several executors in one run: merge their telemetry, view each, detect per executor.

A program run (``execscope run -- python prog.py``) reports one entry per
executor the program created, from every process of the program that created
one.  This module turns those entries into what the rest of execscope reads:

    per-process ticks ──merge_ticks──► one runner-style tick (sums, all workers,
                                       combined task totals) for RunState, so
                                       every single-executor view keeps working
    each entry ──────executor_view───► ExecutorView (Snapshot.executors)
    Snapshot + ExecutorView ─executor_snapshot─► a Snapshot narrowed to that
                                       executor: the detectors, written for one
                                       executor, run unchanged on each
    ExecutorAlerts: one history and AlertBook per executor; the run's alerts
                    are their union, each naming its executor

Pure functions and a small accumulator: no processes, no I/O.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Callable, Deque, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from . import detect
from .metrics import TaskTotals, windowed_rate
from .model import Alert, Counts, ExecutorView, Snapshot, WorkerView
from .observer import merge_own_costs
from .protocol import WORKER_INDEX
from .runner.instrument import Totals, combine

_COUNT_FIELDS = ("submitted", "completed", "failed")
_LIVE_FIELDS = ("queued", "dispatched", "running", "blocked")


def combine_totals(parts: Iterable[Mapping[str, Any]]) -> Dict[str, Any]:
    """Sum cumulative task totals (``protocol.TOTALS_FIELDS`` + ``hist``) as sent in ticks."""
    return combine([Totals.of(part, part.get("hist") or {}) for part in parts])


def with_pid(entry: Mapping[str, Any]) -> List[list]:
    """The entry's worker rows, thread rows given the pid of their process."""
    pid_at = WORKER_INDEX["pid"]
    rows = []
    for row in entry.get("workers", ()):
        if not row[pid_at]:
            row = list(row)
            row[pid_at] = entry.get("pid", 0)
        rows.append(row)
    return rows


def merge_ticks(ticks: Iterable[Mapping[str, Any]], retired: Sequence[Mapping[str, Any]] = ()) -> Dict[str, Any]:
    """One runner-style tick from the latest tick of every process of a program
    and the executors already retired: counts and totals summed over all,
    live figures and worker rows from the live executors only."""
    ticks = list(ticks)
    live = [e for tick in ticks for e in tick.get("executors", ())]
    every = live + list(retired)
    merged: Dict[str, Any] = {name: sum(int(e.get(name, 0)) for e in every) for name in _COUNT_FIELDS}
    merged.update({name: sum(int(e.get(name, 0)) for e in live) for name in _LIVE_FIELDS})
    merged["t"] = max((tick.get("t", 0.0) for tick in ticks), default=0.0)
    merged["queue_source"] = ("instrumentation" if any(e.get("queue_source") == "instrumentation" for e in live)
                              else "executor")
    merged["workers"] = [row for e in live for row in with_pid(e)]
    merged["totals"] = combine_totals(e.get("totals") or {} for e in every)
    merged["threads"] = sum(int(tick.get("threads", 0)) for tick in ticks)
    merged["broken"] = any(e.get("broken") for e in live)
    merged["max_workers"] = sum(int(e.get("max_workers") or 0) for e in live) or None
    merged["executors"] = sorted(every, key=lambda e: e.get("t_created", 0.0))
    merged["own_cost"] = merge_own_costs(e.get("own_cost") for e in every)
    return merged


WorkerViews = Callable[[Dict[str, Any], Optional[float]], List[WorkerView]]


def executor_view(entry: Mapping[str, Any], worker_views: WorkerViews, t_launch: float, now: float,
                  rates: Sequence[Tuple[float, int]], state: str = "live",
                  exits: Sequence[Tuple[int, int, float]] = ()) -> ExecutorView:
    """An ExecutorView from one entry.  ``worker_views(tick, t_created)`` turns
    worker rows into WorkerViews (the session's own conversion); ``rates`` is
    this executor's (t, finished) history; ``exits`` its dead workers."""
    totals = TaskTotals(entry.get("totals") or {})
    t_created = float(entry.get("t_created") or t_launch)
    end = now
    if state == "retired" and totals.last_end:
        end = totals.last_end
    elapsed = max(0.0, end - t_created)
    counts = Counts(**{name: int(entry.get(name, 0)) for name in _COUNT_FIELDS + _LIVE_FIELDS})
    workers = tuple(worker_views({"workers": with_pid(entry)}, t_created)) if state != "retired" else ()
    first_begin, first_submit = totals.first_begin, totals.first_submit
    return ExecutorView(
        id=str(entry.get("id", "?")),
        created_at=str(entry.get("created_at", "?")),
        kind=str(entry.get("kind", "thread")),
        pid=int(entry.get("pid", 0)),
        function=str(entry.get("function") or ""),
        via=entry.get("via"),
        start_method=entry.get("start_method"),
        max_workers=entry.get("max_workers"),
        default_max_workers=entry.get("default_max_workers"),
        created_t_s=t_created - t_launch,
        state=state,
        instances=int(entry.get("instances", 1)),
        counts=counts,
        queue_source=str(entry.get("queue_source", "executor")),
        workers=workers,
        throughput_per_s=windowed_rate(rates, now) if state != "retired" else 0.0,
        mean_throughput_per_s=counts.finished / elapsed if elapsed > 0 else 0.0,
        run_elapsed_s=elapsed,
        latency_s=totals.latency.percentiles(),
        breakdown=totals.breakdown(),
        ipc_bytes_sent=totals.bytes_out,
        ipc_bytes_received=totals.bytes_in,
        mode=str(entry.get("mode") or "submit"),
        chunksize=entry.get("chunksize"),
        map_items=int(entry.get("map_items") or 0),
        threads_at_first_submit=tuple(entry.get("threads_at_first_submit") or ()),
        broken=bool(entry.get("broken")),
        worker_exits=tuple((pid, code) for pid, code, _ in exits),
        worker_exit_t_s=tuple(t - t_launch for _, _, t in exits),
        first_task_start_s=(first_begin - first_submit) if first_begin and first_submit else None,
    )


def executor_snapshot(snap: Snapshot, ex: ExecutorView) -> Snapshot:
    """``snap`` as if ``ex`` were the run's only executor (what detectors expect)."""
    config = snap.config.with_(executor=ex.kind, start_method=ex.start_method, workers=ex.max_workers,
                               tasks=ex.map_items if ex.mode == "map" else None, duration=None)
    return replace(
        snap,
        config=config,
        status=snap.status if ex.state != "retired" or snap.finished else "completed",
        max_workers=ex.max_workers,
        default_max_workers=ex.default_max_workers,
        run_elapsed_s=ex.run_elapsed_s,
        counts=ex.counts,
        expected_tasks=config.tasks,
        queue_source=ex.queue_source,
        workers=ex.workers,
        throughput_per_s=ex.throughput_per_s,
        mean_throughput_per_s=ex.mean_throughput_per_s,
        latency_s=ex.latency_s,
        breakdown=ex.breakdown,
        ipc_bytes_sent=ex.ipc_bytes_sent,
        ipc_bytes_received=ex.ipc_bytes_received,
        alerts=ex.alerts,
        startup_s=ex.created_t_s,
        first_task_start_s=ex.first_task_start_s,
        mode=ex.mode,
        chunksize=ex.chunksize,
        threads_at_first_submit=ex.threads_at_first_submit,
        worker_exits=ex.worker_exits,
        worker_exit_t_s=ex.worker_exit_t_s,
        pool_broken=ex.broken,
        executors=(ex,),
    )


def tag(alert: Alert, ex: ExecutorView) -> Alert:
    """An executor's alert as the run reports it: says which executor."""
    evidence = dict(alert.evidence)
    evidence["executor"] = ex.created_at
    evidence["executor_id"] = ex.id
    return replace(alert, message="%s (%s executor at %s)" % (alert.message, ex.kind, ex.created_at),
                   evidence=evidence)


class ExecutorAlerts:
    """Detectors run on each executor's own history, with its own AlertBook.

    Exposes ``active(kind)`` like an AlertBook, so the session's deadlock
    watchdog reads it the same way."""

    def __init__(self, detectors: Sequence[detect.Detector], history_len: int) -> None:
        self.detectors = detectors
        self.history_len = history_len
        self._histories: Dict[str, Deque[Snapshot]] = {}
        self._books: Dict[str, detect.AlertBook] = {}
        self._views: Dict[str, ExecutorView] = {}
        self._closed: Dict[str, bool] = {}

    def evaluate(self, snap: Snapshot) -> Snapshot:
        """``snap`` with each executor's alerts and the run's (all of them, tagged)."""
        executors = []
        for ex in snap.executors:
            book = self._books.setdefault(ex.id, detect.AlertBook())
            history = self._histories.setdefault(ex.id, deque(maxlen=self.history_len))
            if ex.state == "retired":
                if not self._closed.get(ex.id):
                    self._closed[ex.id] = True
                    book.update((), snap.t_s)  # its conditions ended with it
                ex = replace(ex, alerts=book.alerts())
            else:
                sub = executor_snapshot(snap, ex)
                findings = detect.evaluate(list(history) + [sub], self.detectors)
                ex = replace(ex, alerts=book.update(findings, snap.t_s))
                history.append(replace(sub, alerts=ex.alerts, executors=(ex,)))
            self._views[ex.id] = ex
            executors.append(ex)
        tagged = [tag(a, ex) for ex in executors for a in ex.alerts]
        tagged.sort(key=lambda a: a.t_s, reverse=True)
        return replace(snap, executors=tuple(executors), alerts=tuple(tagged))

    def active(self, kind: str) -> Optional[Alert]:
        found = None
        for ex_id, book in self._books.items():
            alert = book.active(kind)
            if alert is not None and (found is None or alert.severity == "critical"):
                found = tag(alert, self._views[ex_id]) if ex_id in self._views else alert
        return found


CPU_BOUND = 0.6  # a running worker uses most of a core
WAITING = 0.25  # a running worker uses little CPU...
GIL_BOUND = 0.3  # ...because it waits for the GIL this much of the time
ONE_CORE = 80.0  # percent: a GIL-bound thread pool keeps about one core busy
MIN_SAMPLES = 5  # running-worker readings before a verdict


class BoundMeter:
    """What each executor's running workers spend their time on, so far.

    A worker counts while it runs a task.  Its CPU share says how much of a
    core it used; what it did otherwise is told by the GIL sampler when there
    is one (waiting for the GIL) and else by elimination: threads that wait
    for the GIL keep about one core busy between them (one always holds it),
    so running workers that together stay far below one core, each barely
    using CPU, are waiting on something else: I/O, sleeps, locks.

        cpu-bound   running workers use >= 60% of a core each
        gil-bound   thread pools: less, and they wait for the GIL >= 30% of
                    the time (or, unsampled, together keep a core busy)
        io-bound    they use < 25% of a core, and neither of the above
        mixed       anything between

    A GIL wait share decides only when its 95% interval is on one side of
    the 30%: a short run gives each thread a handful of native stacks (an
    I/O-bound pool of 80 fetches had 1-7 each), and one stack caught taking
    the GIL back after a read is then a third of them.  Undecided, the CPU
    rule above stands in for it.
    """

    def __init__(self) -> None:
        self._sums: Dict[str, _BoundSums] = {}  # executor id -> sums

    def update(self, ex: ExecutorView) -> ExecutorView:
        s = self._sums.setdefault(ex.id, _BoundSums())
        running = [w for w in ex.workers if w.state == "running" and w.cpu_percent is not None]
        if ex.state != "retired" and running:
            pool_cpu = sum(w.cpu_percent for w in running)
            for w in running:
                s.cpu_shares += min(100.0, w.cpu_percent) / 100.0
                s.samples += 1
                s.pool_cpu += pool_cpu
                if w.gil_wait is not None:
                    low, high = w.gil_wait_range or (w.gil_wait, w.gil_wait)
                    s.gil_waits += w.gil_wait
                    s.gil_lows += low
                    s.gil_highs += high
                    s.gil_samples += 1
        if s.samples < MIN_SAMPLES:
            return ex
        cpu = s.cpu_shares / s.samples
        gil = s.gil_waits / s.gil_samples if s.gil_samples else None
        gil_range = (s.gil_lows / s.gil_samples, s.gil_highs / s.gil_samples) if s.gil_samples else None
        return replace(ex, cpu_per_running_worker=cpu, gil_wait_per_running_worker=gil,
                       bound=verdict(cpu, gil, s.pool_cpu / s.samples, ex.kind, gil_range))


@dataclass
class _BoundSums:
    """One executor's running-worker samples, summed over its life."""

    cpu_shares: float = 0.0  # each a fraction of one core
    gil_waits: float = 0.0
    gil_lows: float = 0.0  # the 95% interval's ends, summed like gil_waits
    gil_highs: float = 0.0
    samples: int = 0
    gil_samples: int = 0  # of which with a GIL wait share
    pool_cpu: float = 0.0  # the running workers together, percent of one core, per sample


def verdict(cpu: float, gil_wait: Optional[float], pool_cpu_percent: float, kind: str,
            gil_range: Optional[Tuple[float, float]] = None) -> str:
    """The verdict from a running worker's CPU share, its GIL wait share (None
    when not sampled) and its 95% interval, and what the running workers used
    together (percent of one core).

    >>> verdict(0.95, None, 190.0, "process"), verdict(0.03, 0.01, 8.0, "thread")
    ('cpu-bound', 'io-bound')
    >>> verdict(0.3, None, 99.0, "thread"), verdict(0.3, 0.6, 99.0, "thread")
    ('gil-bound', 'gil-bound')

    One stack of three caught waiting decides nothing; the CPU does:

    >>> verdict(0.01, 0.33, 9.0, "thread", (0.06, 0.79)), verdict(0.3, 0.33, 99.0, "thread", (0.06, 0.79))
    ('io-bound', 'gil-bound')
    """
    if cpu >= CPU_BOUND:
        return "cpu-bound"
    if gil_wait is not None and gil_range is not None and gil_range[0] < GIL_BOUND <= gil_range[1]:
        gil_wait = None  # the samples cannot tell which side of GIL_BOUND it is on
    if kind == "thread":
        if gil_wait is not None:
            if gil_wait >= GIL_BOUND:
                return "gil-bound"
        elif pool_cpu_percent >= ONE_CORE:
            return "gil-bound"
    return "io-bound" if cpu < WAITING else "mixed"


def fold_retired(entries: Sequence[Mapping[str, Any]], keep: int) -> List[Dict[str, Any]]:
    """At most about ``keep`` retired executors: beyond that, those made at the
    same line (an executor created in a loop) are folded into one entry that
    counts them (``instances``).  Sums and task totals are kept exactly."""
    entries = [dict(e) for e in entries]
    if len(entries) <= keep:
        return entries
    groups: Dict[Tuple[Any, ...], List[Dict[str, Any]]] = {}
    for e in entries:
        groups.setdefault((e.get("pid"), e.get("created_at"), e.get("kind")), []).append(e)
    out = []
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        first, last = group[0], group[-1]
        folded = dict(last)
        folded["instances"] = sum(int(e.get("instances", 1)) for e in group)
        folded["id"] = "%s+%d" % (str(first.get("id")).split("+")[0], folded["instances"] - 1)
        for name in _COUNT_FIELDS + ("map_items",):
            folded[name] = sum(int(e.get(name) or 0) for e in group)
        folded["t_created"] = min(float(e.get("t_created") or 0.0) for e in group)
        folded["max_workers"] = max(int(e.get("max_workers") or 0) for e in group) or None
        folded["totals"] = combine_totals(e.get("totals") or {} for e in group)
        folded["workers"] = []
        out.append(folded)
    return sorted(out, key=lambda e: e.get("t_created", 0.0))
