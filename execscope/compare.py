"""Compare: one workload, several executor configurations, the same work each time.

The article ends with a decision table (threads for I/O, processes for CPU,
"it depends" for NumPy, mind the IPC).  ``execscope compare`` measures that
table on the machine at hand: it runs the workload once per configuration, in
order, each in its own runner through a ``Session`` (so every run is exactly
what ``execscope run`` would show and nothing survives it), and turns the run
objects into rows and a one-sentence verdict.

    plan ──► [RunConfig, ...] ──► Sequencer.run(config) ──► run JSON ──► Row
                                      (one Session each)                  │
                                                        rows ──► verdict ─┘

API for a live view (the TUI's compare screen fills in one row at a time);
the figures in the comments are from one machine, every machine gives its own::

    comparison = Comparison(CompareRequest("cpu", tasks=40),
                            on_snapshot=lambda index, snap: ...)  # live run
    for result in comparison.runs():       # a generator: one per finished run
        print(result.index, result.row.label, result.row.speedup)
                                           # 0 serial 1.0
                                           # 1 thread x6 0.97
                                           # 2 process/fork x2 1.86 ...
    outcome = comparison.outcome()         # rows + verdict of what ran
    outcome.verdict.reason                 # 'process/fork x2 was fastest: 1.86x serial
                                           #  (203 tasks/s vs 109), as the article expects ...'

``Comparison(...)`` validates every configuration before anything runs (bad
input raises ``UsageError`` with one line).  ``runs()`` is meant to be
iterated in a worker thread; ``on_snapshot(index, Snapshot)`` is called from
the session's ticker thread about ten times a second for the run in progress;
``stop()`` may be called from any thread: it ends the run in progress (its
row reports ``interrupted``) and no further run starts.

Rows and the verdict are pure functions of run objects (``row_from_run``,
``make_verdict``), so they are testable without processes.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from .families import KINDS, is_isolated, missing_requirement, takes_start_method
from .errors import UsageError
from .fmt import fmt_num as _rate, fmt_x as _x
from .model import RunConfig, Snapshot

SCHEMA_COMPARE = "execscope.compare/1"
EXECUTOR_KINDS = ("serial", "thread", "process")  # the default matrix; any family may be named
START_METHODS = ("fork", "spawn", "forkserver")
# Two throughputs closer than this are a tie: the simpler executor is named.
TIE_MARGIN = 0.05
SIMPLICITY = {"serial": 0, "thread": 1, "interpreter": 2, "process": 2, "pool": 2, "loky": 3, "dask": 4}

# CPU is sampled at ~10 Hz from outside the run, and psutil's first reading of
# a new process is always 0: below this wall time a CPU mean means nothing.
MIN_CPU_WALL_S = 0.5

SnapshotListener = Callable[[int, Snapshot], None]


# -- what to run -----------------------------------------------------------------


@dataclass(frozen=True)
class ExecutorChoice:
    """One executor of the matrix: ``serial``, ``thread``, ``process:spawn``."""

    executor: str
    start_method: Optional[str] = None  # None: the interpreter's default

    @property
    def label(self) -> str:
        return self.executor + (":" + self.start_method if self.start_method else "")


def parse_executors(text: str) -> List[ExecutorChoice]:
    """``"serial,thread,process:fork"`` -> choices; UsageError on anything else.

    >>> [c.label for c in parse_executors("thread, process:spawn,process")]
    ['thread', 'process:spawn', 'process']
    """
    choices: List[ExecutorChoice] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        kind, sep, method = part.replace("/", ":").partition(":")
        kind, method = kind.strip(), method.strip()
        if kind not in KINDS:
            raise UsageError("--executors %r: %r is not one of %s (process:METHOD, pool:METHOD)"
                             % (text, part, ", ".join(KINDS)))
        if sep and not takes_start_method(kind):
            raise UsageError("--executors %r: only process and pool take a start method (%r)" % (text, part))
        missing = missing_requirement(kind)
        if missing:
            raise UsageError(missing)
        if sep and method not in START_METHODS:
            raise UsageError("--executors %r: start method %r is not fork, spawn or forkserver" % (text, method))
        choice = ExecutorChoice(kind, method or None)
        if choice not in choices:
            choices.append(choice)
    if not choices:
        raise UsageError("--executors %r: name at least one of serial, thread, process:METHOD" % text)
    return choices


def parse_workers(text: str) -> List[int]:
    """``"4"`` or ``"1,2,4,8"`` (a scaling sweep); UsageError otherwise.

    >>> parse_workers("1, 2,4")
    [1, 2, 4]
    """
    counts: List[int] = []
    for part in text.split(","):
        part = part.strip().replace("_", "")
        if not part:
            continue
        try:
            value = int(part, 10)
        except ValueError:
            raise UsageError("--workers %r: %r is not a whole number" % (text, part)) from None
        if value <= 0:
            raise UsageError("--workers %r: every count must be at least 1" % text)
        if value not in counts:
            counts.append(value)
    if not counts:
        raise UsageError("--workers %r: give a count or a list such as 1,2,4" % text)
    return counts


def default_executors(start_methods: Sequence[str], supported: Sequence[str] = EXECUTOR_KINDS) -> List[ExecutorChoice]:
    """serial, thread, then process with every start method the interpreter has."""
    out = [ExecutorChoice(k) for k in ("serial", "thread") if k in supported]
    if "process" in supported:
        out += [ExecutorChoice("process", m) for m in START_METHODS if m in start_methods]
    return out


@dataclass(frozen=True)
class CompareRequest:
    workload: str
    executors: Optional[Tuple[ExecutorChoice, ...]] = None  # None: default_executors
    workers: Tuple[Optional[int], ...] = (None,)  # None: each executor's own default
    tasks: Optional[int] = None  # None: the workload's default
    params: Mapping[str, str] = field(default_factory=dict)
    python: Optional[str] = None
    timeout: Optional[float] = None  # per run
    gil_sampling: bool = True


def plan(request: CompareRequest) -> List[RunConfig]:
    """The runs of a comparison, validated, serial first.

    Raises UsageError (one line) before anything runs.  With the default
    executor set, executors the workload does not support are left out; named
    explicitly, they are an error.
    """
    from .validate import validate
    from .interpreters import probe
    from .runner import resolve

    workload = None
    if not resolve.is_custom(request.workload):
        try:
            workload = resolve.resolve(request.workload)
        except resolve.SpecError as exc:
            raise UsageError(str(exc)) from None
    supported = workload.executors if workload is not None else EXECUTOR_KINDS
    if request.executors is None:
        choices = default_executors(probe(request.python)["start_methods"], supported)
    else:
        choices = list(request.executors)
    choices.sort(key=lambda c: SIMPLICITY.get(c.executor, 9))  # serial first: speedups need it
    configs: List[RunConfig] = []
    for choice in choices:
        counts: Sequence[Optional[int]] = (None,) if choice.executor == "serial" else request.workers
        for count in counts:
            config = RunConfig(
                workload=request.workload,
                executor=choice.executor,
                start_method=choice.start_method,
                workers=count,
                tasks=request.tasks,
                params=dict(request.params),
                python=request.python,
                timeout=request.timeout,
                gil_sampling=request.gil_sampling,
            )
            config, _, _ = validate(config)
            if any(_same_run(config, c) for c in configs):
                continue
            configs.append(config)
    return configs


def _same_run(a: RunConfig, b: RunConfig) -> bool:
    return (a.executor, a.start_method, a.workers) == (b.executor, b.start_method, b.workers)


# -- running -----------------------------------------------------------------------


class Sequencer:
    """Runs RunConfigs one after another, each through its own Session.

    ``stop()`` (any thread) ends the run in progress and refuses later ones.
    ``gil_factory(config)`` gives the GIL sampler factory for a run; by default
    ``sampling.gil_factory``, so GIL figures appear wherever the sampler is installed.
    """

    def __init__(self, on_snapshot: Optional[Callable[[Snapshot], None]] = None,
                 gil_factory: Optional[Callable[[RunConfig], Any]] = None,
                 refresh_hz: float = 10.0) -> None:
        self.on_snapshot = on_snapshot
        self.gil_factory = gil_factory
        self.refresh_hz = refresh_hz
        self._lock = threading.Lock()
        self._session: Any = None
        self._stopped = False

    @property
    def stopped(self) -> bool:
        return self._stopped

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            session = self._session
        if session is not None:
            session.stop("interrupted", "the comparison was stopped")

    def resume(self) -> None:
        """Accept runs again after ``stop()`` (a guided tour moving on)."""
        with self._lock:
            self._stopped = False

    def run(self, config: RunConfig, listener: Optional[Callable[[Snapshot], None]] = None) -> Dict[str, Any]:
        """One run to its end; returns the run object (``execscope.run/1``)."""
        from . import report
        from .session import Session

        if self.gil_factory is not None:
            factory = self.gil_factory(config)
        else:
            from .sampling import gil_factory

            factory = gil_factory(config)
        session = Session(config, listener=listener or self.on_snapshot, gil_sampler_factory=factory,
                          refresh_hz=self.refresh_hz)
        with self._lock:
            if self._stopped:
                raise Interrupted()
            self._session = session
        try:
            session.start()
            session.wait()
        finally:
            session.close()
            with self._lock:
                self._session = None
        record = session.record()
        if record.usage_error:
            raise UsageError(record.usage_error)
        return report.run_json(record)


class Interrupted(Exception):
    """The sequence was stopped before this run could start."""


# -- rows and verdict (pure) -----------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One configuration's figures, as the table shows them."""

    label: str  # "serial", "thread x6", "process/spawn x2"
    executor: str
    start_method: Optional[str]
    workers: Optional[int]  # the pool's real max_workers
    status: str
    completed: int
    failed: int
    wall_s: Optional[float]
    throughput_per_s: float
    speedup: Optional[float]  # throughput / serial throughput
    p95_s: Optional[float]
    ipc_share: float  # of task service time
    cpu_percent: Optional[float]  # process tree mean, % of one core (200 = two cores)
    other_cpus: Optional[float]  # CPUs busy with other processes while it ran
    startup_s: Optional[float]  # mean worker start-up (a process, a subinterpreter)
    first_task_s: Optional[float]  # first submit -> first task began
    peak_rss_bytes: Optional[int]  # sum over the process tree
    peak_uss_bytes: Optional[int]  # unique memory of the tree, where readable
    alerts: Tuple[str, ...]
    observer_share: Optional[float] = None  # what watching took of the usable CPUs (observer.py)

    @property
    def ok(self) -> bool:
        return self.status == "completed" and self.failed == 0

    def json(self) -> Dict[str, Any]:
        out = asdict(self)
        out["alerts"] = list(self.alerts)
        return out


def run_label(run: Mapping[str, Any]) -> str:
    ex = run["executor"]
    if ex["kind"] == "serial":
        return "serial"
    text = ex["kind"] + ("/" + ex["start_method"] if ex.get("start_method") else "")
    workers = ex.get("max_workers") or ex.get("requested_workers")
    return text + (" x%d" % workers if workers else "")


def cpu_trusted(run: Mapping[str, Any]) -> bool:
    """Was the run long enough for its CPU means to mean something?"""
    return (run.get("wall_s") or 0.0) >= MIN_CPU_WALL_S


def other_cpus(run: Mapping[str, Any]) -> Optional[float]:
    """CPUs' worth of work by processes outside the run while it ran."""
    if not cpu_trusted(run):
        return None
    cpu = run.get("cpu") or {}
    cores = cpu.get("per_core_mean_percent") or []
    tree = cpu.get("process_tree_mean_percent")
    if not cores or tree is None:
        return None
    return max(0.0, (sum(cores) - tree) / 100.0)


def row_from_run(run: Mapping[str, Any], serial_throughput: Optional[float] = None) -> Row:
    tasks = run.get("tasks") or {}
    ex = run.get("executor") or {}
    tput = float(tasks.get("throughput_per_s") or 0.0)
    speedup = None
    if serial_throughput:
        speedup = tput / serial_throughput
    kinds: List[str] = []
    for alert in run.get("alerts") or ():
        if alert["kind"] not in kinds:
            kinds.append(alert["kind"])
    startup = (run.get("worker_startup_s") or {}).get("mean")
    cpu = run.get("cpu") or {}
    return Row(
        label=run_label(run),
        executor=ex.get("kind", "?"),
        start_method=ex.get("start_method"),
        workers=ex.get("max_workers"),
        status=run.get("status", "?"),
        completed=int(tasks.get("completed") or 0),
        failed=int(tasks.get("failed") or 0),
        wall_s=run.get("wall_s"),
        throughput_per_s=tput,
        speedup=speedup,
        p95_s=(tasks.get("latency_s") or {}).get("p95"),
        ipc_share=float((run.get("ipc") or {}).get("share_of_task_time") or 0.0),
        cpu_percent=cpu.get("process_tree_mean_percent") if cpu_trusted(run) else None,
        other_cpus=other_cpus(run),
        startup_s=startup if is_isolated(ex.get("kind")) else None,
        first_task_s=run.get("first_task_start_s"),
        peak_rss_bytes=cpu.get("peak_rss_bytes"),
        peak_uss_bytes=cpu.get("peak_uss_bytes"),
        alerts=tuple(kinds),
        observer_share=(run.get("observer") or {}).get("share"),
    )


def row_from_snapshot(snap: Snapshot, serial_throughput: Optional[float] = None,
                      cpu_percent: Optional[float] = None,
                      per_core_means: Optional[Sequence[float]] = None) -> Row:
    """The row of a run seen live (the TUI's compare view): the same figures
    ``row_from_run`` reads from the run object, taken from the run's last
    Snapshot and its CPU means (``RunRecord.tree_cpu_mean``, ``cpu_means``)."""
    cfg = snap.config
    tput = float(snap.mean_throughput_per_s or 0.0)
    wall = snap.run_elapsed_s
    trusted = (wall or 0.0) >= MIN_CPU_WALL_S
    if cpu_percent is None:
        cpu_percent = snap.cpu.tree_percent
    others = None
    if trusted and per_core_means:
        others = max(0.0, (sum(per_core_means) - cpu_percent) / 100.0)
    kinds: List[str] = []
    for alert in reversed(snap.alerts):
        if alert.kind not in kinds:
            kinds.append(alert.kind)
    startups = [w.startup_s for w in snap.workers if w.startup_s is not None]
    label = run_label({"executor": {"kind": cfg.executor, "start_method": cfg.start_method
                                    if takes_start_method(cfg.executor) else None,
                                    "max_workers": snap.max_workers, "requested_workers": cfg.workers}})
    return Row(
        label=label,
        executor=cfg.executor,
        start_method=cfg.start_method if takes_start_method(cfg.executor) else None,
        workers=snap.max_workers,
        status=snap.status,
        completed=snap.counts.completed,
        failed=snap.counts.failed,
        wall_s=wall,
        throughput_per_s=tput,
        speedup=tput / serial_throughput if serial_throughput else None,
        p95_s=snap.latency_s[1] if snap.breakdown.tasks else None,
        ipc_share=float(snap.breakdown.ipc_share or 0.0),
        cpu_percent=cpu_percent if trusted else None,
        other_cpus=others,
        startup_s=sum(startups) / len(startups) if startups and is_isolated(cfg.executor) else None,
        first_task_s=snap.first_task_start_s,
        peak_rss_bytes=None,
        peak_uss_bytes=None,
        alerts=tuple(kinds),
        observer_share=(snap.observer or {}).get("share"),
    )


def serial_of(rows: Sequence[Row]) -> Optional[float]:
    """The completed serial row's throughput: what speedups are relative to."""
    for row in rows:
        if row.executor == "serial" and row.status == "completed":
            return row.throughput_per_s or None
    return None


def with_speedups(rows: Sequence[Row]) -> List[Row]:
    """The rows with each speedup taken against the serial row among them."""
    from dataclasses import replace

    base = serial_of(rows)
    return [replace(r, speedup=r.throughput_per_s / base if base else None) for r in rows]


def serial_throughput(runs: Sequence[Mapping[str, Any]]) -> Optional[float]:
    for run in runs:
        if run["executor"]["kind"] == "serial" and run.get("status") == "completed":
            return float(run["tasks"]["throughput_per_s"] or 0.0) or None
    return None


def rows_from_runs(runs: Sequence[Mapping[str, Any]]) -> List[Row]:
    base = serial_throughput(runs)
    return [row_from_run(r, base) for r in runs]


@dataclass(frozen=True)
class Verdict:
    best: Optional[str]  # the winning row's label
    reason: str  # one sentence with numbers
    expected_best: str = ""  # the article's pick: serial | thread | process ("" unknown)
    expect: str = ""  # what the article expects, in words (the workload's note)
    expectation_holds: Optional[bool] = None  # None: nothing to compare against
    speedup: Optional[float] = None
    throughput_per_s: Optional[float] = None

    def json(self) -> Dict[str, Any]:
        return asdict(self)


def _pick_best(rows: Sequence[Row]) -> Row:
    top = max(r.throughput_per_s for r in rows)
    near = [r for r in rows if r.throughput_per_s >= top * (1 - TIE_MARGIN)]
    # Within the tie margin the simpler executor wins: it costs less to run.
    return min(near, key=lambda r: (SIMPLICITY.get(r.executor, 9), -r.throughput_per_s))


def make_verdict(rows: Sequence[Row], expected_best: str = "", expect: str = "",
                 usable_cpus: Optional[int] = None) -> Verdict:
    """Name the best configuration and say why, in one sentence with numbers.

    When the workload comes with the article's expectation (``expected_best``:
    the executor kind that should win), say whether it held here and, when it
    did not, what the expected executor managed on this machine.
    """
    good = [r for r in rows if r.ok and r.throughput_per_s > 0]
    if not good:
        bad = ", ".join("%s %s" % (r.label, r.status) for r in rows) or "nothing ran"
        return Verdict(best=None, reason="No configuration completed its tasks (%s)." % bad,
                       expected_best=expected_best, expect=expect)
    best = _pick_best(good)
    others = sorted((r for r in good if r is not best), key=lambda r: -r.throughput_per_s)
    if best.speedup is not None:
        base = next((r for r in good if r.executor == "serial"), None)
        head = "%s was fastest: %s serial (%s tasks/s vs %s)" % (
            best.label, _x(best.speedup), _rate(best.throughput_per_s),
            _rate(base.throughput_per_s) if base else "?")
        if best.executor == "serial" and others:
            head = "serial was fastest: the best pool, %s, reached %s of it (%s tasks/s vs %s)" % (
                others[0].label, _x(others[0].speedup), _rate(others[0].throughput_per_s),
                _rate(best.throughput_per_s))
    else:
        head = "%s was fastest at %s tasks/s" % (best.label, _rate(best.throughput_per_s))
        if others:
            head += " (next: %s at %s)" % (others[0].label, _rate(others[0].throughput_per_s))
    if best.executor != "serial" and others and \
            others[0].throughput_per_s >= best.throughput_per_s * (1 - TIE_MARGIN):
        head += ", tied within %d%% with %s" % (round(TIE_MARGIN * 100), others[0].label)
    holds: Optional[bool] = None
    tail = ""
    if expected_best:
        expected_rows = [r for r in good if r.executor == expected_best]
        if not expected_rows:
            tail = "; the article's pick (%s) was not part of this comparison" % expected_best
        else:
            champion = max(expected_rows, key=lambda r: r.throughput_per_s)
            holds = best.executor == expected_best or (
                champion.throughput_per_s >= best.throughput_per_s * (1 - TIE_MARGIN))
            if holds and best.executor == expected_best:
                tail = "; as the article expects, %s wins here" % expected_best
            elif holds:
                tail = "; the article's pick, %s, is within %d%% of it (%s), so the article holds here" % (
                    champion.label, round(TIE_MARGIN * 100), _rate(champion.throughput_per_s))
            elif expected_best == "serial":
                tail = "; the article expects serial to win, but here %s was %s faster%s" % (
                    best.label, _x(best.speedup) if best.speedup is not None else "",
                    _machine_phrase(usable_cpus, [best], good))
            else:
                tail = "; the article expects %s to win, but here %s gave %s%s" % (
                    expected_best, champion.label,
                    _x(champion.speedup) + " serial" if champion.speedup is not None
                    else "%s tasks/s" % _rate(champion.throughput_per_s),
                    _machine_phrase(usable_cpus, [champion], good))
    reason = head + tail + _observer_phrase(good) + "."
    return Verdict(best=best.label, reason=reason, expected_best=expected_best, expect=expect,
                   expectation_holds=holds, speedup=best.speedup, throughput_per_s=best.throughput_per_s)


def _observer_phrase(rows: Sequence[Row]) -> str:
    """The rows whose watching cost passed the run header's threshold (on a
    busy machine execscope's CPU comes out of the run, so the speedups carry
    it; how much of it, the CPU share cannot say: see benchmarks/observer.py).

    >>> row = lambda label, share: Row(label, "process", None, 2, "completed", 1, 0, 1.0, 1.0, 1.0, None, 0.0,
    ...                                None, None, None, None, None, None, (), share)
    >>> _observer_phrase([row("serial", 0.01), row("process/fork x2", 0.062)])
    '; watching took 6% of the CPUs in process/fork x2, a cost the speedups carry'
    >>> _observer_phrase([row("serial", 0.01), row("thread x4", None)])
    ''
    """
    from .observer import SHOW_ABOVE

    costly = [r for r in rows if r.observer_share is not None and r.observer_share > SHOW_ABOVE]
    if not costly:
        return ""
    worst = max(costly, key=lambda r: r.observer_share or 0.0)
    names = ", ".join(r.label for r in costly)
    return "; watching took %s%.0f%% of the CPUs in %s, a cost the speedups carry" % (
        "up to " if len(costly) > 1 else "", 100 * (worst.observer_share or 0.0), names)


def verdict_for(rows: Sequence[Row], workload: str, gil_enabled: bool = True,
                usable_cpus: Optional[int] = None) -> Verdict:
    """``make_verdict`` with the article's expectation for a workload by name
    (none for a custom workload): the one verdict the CLI and the TUI give."""
    from .runner import resolve

    expected_best, expect = "", ""
    if not resolve.is_custom(workload):
        try:
            expected_best, expect = resolve.resolve(workload).expectation(gil_enabled)
        except resolve.SpecError:
            pass
    return make_verdict(rows, expected_best, expect, usable_cpus)


def _machine_phrase(usable_cpus: Optional[int], rows: Sequence[Row], fallback: Sequence[Row] = ()) -> str:
    """" on this 2-CPU machine with about 1.1 CPUs busy with other work": the
    load measured while ``rows`` ran (else while any of ``fallback`` ran)."""
    text = ""
    if usable_cpus:
        text = " on this %d-CPU machine" % usable_cpus
    loads = [r.other_cpus for r in rows if r.other_cpus is not None] or \
        [r.other_cpus for r in fallback if r.other_cpus is not None]
    if loads:
        load = sum(loads) / len(loads)
        if load >= 0.25:
            text += " with about %.1f CPUs busy with other work" % load
    return text


# -- a whole comparison --------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    index: int  # position in the plan
    total: int  # runs in the plan
    config: RunConfig
    run: Dict[str, Any]  # the run object, as ``execscope run --json`` writes it
    row: Row


@dataclass(frozen=True)
class Outcome:
    workload: str
    params: Mapping[str, str]
    runs: Tuple[Dict[str, Any], ...]
    rows: Tuple[Row, ...]
    verdict: Verdict
    machine: Mapping[str, Any]
    interpreter: Mapping[str, Any]
    complete: bool  # every planned run ran (not stopped early)


class Comparison:
    """Plan (validated now), then ``runs()`` one by one, then ``outcome()``."""

    def __init__(self, request: CompareRequest, on_snapshot: Optional[SnapshotListener] = None,
                 gil_factory: Optional[Callable[[RunConfig], Any]] = None, refresh_hz: float = 10.0) -> None:
        from .runner import resolve

        self.request = request
        self.configs: List[RunConfig] = plan(request)
        self.workload = None if resolve.is_custom(request.workload) else resolve.resolve(request.workload)
        self.on_snapshot = on_snapshot
        self._sequencer = Sequencer(gil_factory=gil_factory, refresh_hz=refresh_hz)
        self.results: List[RunResult] = []

    def stop(self) -> None:
        self._sequencer.stop()

    @property
    def stopped(self) -> bool:
        return self._sequencer.stopped

    def runs(self) -> Iterator[RunResult]:
        """Run the plan, yielding each finished run (with its row) as it completes."""
        total = len(self.configs)
        for index, config in enumerate(self.configs):
            if self._sequencer.stopped:
                return
            listener = None
            if self.on_snapshot is not None:
                callback = self.on_snapshot
                listener = lambda snap, i=index: callback(i, snap)  # noqa: E731
            try:
                run = self._sequencer.run(config, listener=listener)
            except Interrupted:
                return
            base = serial_throughput([r.run for r in self.results] + [run])
            result = RunResult(index=index, total=total, config=config, run=run, row=row_from_run(run, base))
            self.results.append(result)
            yield result

    def run_all(self) -> "Outcome":
        for _ in self.runs():
            pass
        return self.outcome()

    def outcome(self) -> Outcome:
        runs = [r.run for r in self.results]
        rows = rows_from_runs(runs)
        first = runs[0] if runs else {}
        machine = dict(first.get("machine") or {})
        gil_enabled = (first.get("interpreter") or {}).get("gil_enabled", True) is not False
        verdict = verdict_for(rows, self.request.workload, gil_enabled, machine.get("usable_cpus"))
        return Outcome(
            workload=self.request.workload,
            params=dict(self.request.params),
            runs=tuple(runs),
            rows=tuple(rows),
            verdict=verdict,
            machine=machine,
            interpreter=dict(first.get("interpreter") or {}),
            complete=len(runs) == len(self.configs),
        )


def compare_json(outcome: Outcome) -> Dict[str, Any]:
    """The ``execscope.compare/1`` object."""
    return {
        "schema": SCHEMA_COMPARE,
        "workload": {"name": outcome.workload, "params": dict(outcome.params)},
        "machine": dict(outcome.machine),
        "interpreter": dict(outcome.interpreter),
        "complete": outcome.complete,
        "runs": list(outcome.runs),
        "rows": [r.json() for r in outcome.rows],
        "verdict": outcome.verdict.json(),
    }


def exit_ok(outcome: Outcome) -> bool:
    return outcome.complete and all(r.status == "completed" for r in outcome.rows)
