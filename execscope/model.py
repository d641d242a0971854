"""The data every view reads: one frozen ``Snapshot`` per tick, one ``RunRecord`` per run.

The session builds a Snapshot about ten times a second from the runner's
telemetry and the samplers (snapshot.py).  The TUI, the headless progress
lines and the detectors read Snapshots and nothing else.  When the run is
over it leaves one frozen RunRecord (its last Snapshot and what the run
accumulated: marks, errors, exits, the timeline, CPU means, peak memory,
output); the JSON report, compare, the tour and the TUI's compare view read
that, never the live session, so the screen and the report cannot disagree.
Times are seconds since the run was launched (``t_s``) unless a name says
otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional, Tuple

STATUSES = ("starting", "running", "completed", "failed", "timeout", "deadlock", "interrupted")
FINAL_STATUSES = frozenset(STATUSES[2:])


@dataclass(frozen=True)
class RunConfig:
    workload: str
    executor: str = "thread"  # serial | thread | process
    start_method: Optional[str] = None  # fork | spawn | forkserver (process only)
    workers: Optional[int] = None  # None: the executor's own default
    tasks: Optional[int] = None  # None with duration None: the workload's default
    duration: Optional[float] = None
    params: Mapping[str, str] = field(default_factory=dict)
    python: Optional[str] = None  # None: this interpreter
    timeout: Optional[float] = None
    on_deadlock: str = "stop"  # stop | wait
    deadlock_grace_s: float = 2.0
    gil_sampling: bool = True
    # A program run (``execscope run -- python prog.py``, program.ProgramSource): argv instead of a workload.
    argv: Tuple[str, ...] = ()
    # An attached process (``execscope attach PID``, attach.AttachSource): watched from outside.
    attach_pid: Optional[int] = None
    instrument: bool = True  # attach: load the agent with sys.remote_exec where the target allows it

    @property
    def label(self) -> str:
        """``thread x4``, ``process/spawn x2``, ``serial``."""
        if self.executor == "serial":
            return "serial"
        text = self.executor
        if self.start_method and self.executor in ("process", "pool"):
            text += "/" + self.start_method
        return text + (" x%d" % self.workers if self.workers else "")

    def with_(self, **changes: Any) -> "RunConfig":
        return replace(self, **changes)


@dataclass(frozen=True)
class Counts:
    submitted: int = 0
    queued: int = 0  # waiting for a worker (process pools: incl. dispatched)
    dispatched: int = 0  # process pools: in the call queue, not yet read by a worker
    running: int = 0
    blocked: int = 0  # workers waiting on a future of their own executor
    completed: int = 0
    failed: int = 0

    @property
    def finished(self) -> int:
        return self.completed + self.failed


@dataclass(frozen=True)
class Breakdown:
    """Mean seconds per task in each phase (all zero but queue/compute for threads)."""

    queue: float = 0.0
    ser: float = 0.0
    xfer: float = 0.0
    deser: float = 0.0
    compute: float = 0.0
    rser: float = 0.0
    rxfer: float = 0.0
    rdeser: float = 0.0
    bytes_out: float = 0.0  # mean argument pickle size
    bytes_in: float = 0.0  # mean result pickle size
    tasks: int = 0  # how many finished tasks these means cover

    @property
    def ipc(self) -> float:
        return self.ser + self.xfer + self.deser + self.rser + self.rxfer + self.rdeser

    @property
    def service(self) -> float:
        """Time a task costs once a worker has it: IPC plus compute."""
        return self.ipc + self.compute

    @property
    def total(self) -> float:
        return self.queue + self.service

    @property
    def ipc_share(self) -> float:
        """IPC as a share of a task's service time (queue wait excluded)."""
        return self.ipc / self.service if self.service > 0 else 0.0


@dataclass(frozen=True)
class WorkerView:
    key: str  # "t:<native id>" / "p:<pid>"
    label: str
    kind: str  # thread | process
    pid: int
    tid: int
    state: str  # idle running blocked receiving deserializing serializing sending starting
    task: int  # -1 when none
    state_age_s: float  # how long it has been in this state
    done: int
    busy_s: float
    blocked_on: int = -1
    cpu_percent: Optional[float] = None
    gil_held: Optional[float] = None
    gil_wait: Optional[float] = None
    gil_released: Optional[float] = None
    gil_wait_range: Optional[Tuple[float, float]] = None  # 95% interval of gil_wait (GilThread)
    startup_s: Optional[float] = None  # process start-up, from pool creation
    since_s: Optional[float] = None  # when the current state began (seconds since launch)
    # From the scheduler (/proc, Linux; None elsewhere): native threads of a
    # process worker; how many of this worker's threads were runnable (on a
    # CPU or queued for one) at this tick, 0/1 for a thread worker; and a
    # thread worker's voluntary context switches so far (cumulative).
    threads: Optional[int] = None
    runnable: Optional[int] = None
    voluntary_switches: Optional[int] = None


@dataclass(frozen=True)
class CpuView:
    per_core: Tuple[float, ...] = ()  # percent of each logical CPU
    total_percent: float = 0.0  # machine average, 0..100
    tree_percent: float = 0.0  # runner + workers, in % of one core (200 = two cores)
    logical_cpus: int = 0
    usable_cpus: int = 0
    affinity_cpus: Optional[int] = None
    cgroup_cpu_limit: Optional[float] = None
    tree_rss_bytes: int = 0
    tree_uss_bytes: Optional[int] = None
    # Threads of the run's process tree, and how many were runnable (state R:
    # on a CPU or waiting for one) at this tick; None where /proc cannot tell.
    tree_threads: Optional[int] = None
    runnable_threads: Optional[int] = None


@dataclass(frozen=True)
class GilThread:
    name: str
    pid: int
    tid: int
    held: float
    wait: float
    released: float
    idle: float
    samples: int
    # 95% interval of ``wait`` from its samples alone (binomial, Wilson): how
    # far the figure may be from the thread's true share by chance; None
    # where wait is not sampled (a lone thread cannot wait for its GIL)
    wait_range: Optional[Tuple[float, float]] = None


@dataclass(frozen=True)
class GilView:
    # py-spy: sampled; probe: only the runner's latency probe; disabled: a
    # free-threaded interpreter; unavailable: nothing could be measured.
    source: str = "unavailable"
    reason: str = "not measured yet"
    threads: Tuple[GilThread, ...] = ()
    probe_latency_ms: Optional[float] = None  # mean lateness of the probe's wake-ups
    probe_contention: Optional[float] = None  # 0..1
    window_s: float = 0.0


@dataclass(frozen=True)
class Alert:
    kind: str  # starvation pickle_bottleneck gil_contention oversubscription ...
    severity: str  # info | warning | critical
    t_s: float  # when the condition started
    message: str  # one sentence: what is happening
    remedy: str  # one sentence: what to do
    evidence: Mapping[str, Any] = field(default_factory=dict)
    active: bool = True
    cleared_t_s: Optional[float] = None
    panel: str = ""  # the panel to highlight: cores workers queue breakdown


@dataclass(frozen=True)
class ExecutorView:
    """One executor of a program run (``execscope run -- python prog.py``).

    The program may create several; each gets the runner's measurements on its
    own, and the Snapshot's top-level figures are their sums.  Detectors see an
    executor through ``executors.executor_snapshot``: a Snapshot narrowed to it."""

    id: str  # "<pid>:<n>", unique in the run
    created_at: str  # file:line of the code that created it
    kind: str  # thread | process
    pid: int  # the process that owns it
    function: str = ""  # the function that created it
    via: Optional[str] = None  # the program's own line that led there, when created_at is in a library
    start_method: Optional[str] = None
    max_workers: Optional[int] = None
    default_max_workers: Optional[int] = None
    created_t_s: float = 0.0  # seconds since launch
    state: str = "live"  # live | shutting_down | retired
    instances: int = 1  # retired executors made at the same line, folded into one view
    counts: Counts = Counts()
    queue_source: str = "executor"
    workers: Tuple[WorkerView, ...] = ()
    throughput_per_s: float = 0.0
    mean_throughput_per_s: float = 0.0
    run_elapsed_s: float = 0.0  # since it was created (until retired)
    latency_s: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    breakdown: Breakdown = Breakdown()
    ipc_bytes_sent: int = 0
    ipc_bytes_received: int = 0
    mode: str = "submit"  # map once the program called a process pool's map
    chunksize: Optional[int] = None
    map_items: int = 0
    threads_at_first_submit: Tuple[str, ...] = ()
    broken: bool = False
    worker_exits: Tuple[Tuple[int, int], ...] = ()
    worker_exit_t_s: Tuple[float, ...] = ()
    first_task_start_s: Optional[float] = None
    # What its running workers do, over the run so far (executors.BoundMeter):
    # mean share of a core a running worker used, its mean GIL wait share when
    # sampled, and the verdict: cpu-bound | gil-bound | io-bound | mixed.
    cpu_per_running_worker: Optional[float] = None
    gil_wait_per_running_worker: Optional[float] = None
    bound: Optional[str] = None
    alerts: Tuple["Alert", ...] = ()  # this executor's, newest first


@dataclass(frozen=True)
class ProgramView:
    """The program execscope runs (``run -- ...``) or watches (``attach PID``)."""

    argv: Tuple[str, ...]
    pid: int
    exit_code: Optional[int] = None  # None while it runs; -N: killed by signal N
    instrumented: bool = False  # its process said hello (a program run)
    processes: int = 0  # its processes reporting telemetry (a program run)
    output_tail: Tuple[str, ...] = ()  # its last lines of stdout and stderr (a program run)
    exited: bool = False  # it has ended (attach: its exit code is its parent's to read, not ours)
    mode: str = ""  # attach: "instrumented since HH:MM:SS" or "stacks only: <why>"


@dataclass(frozen=True)
class Snapshot:
    config: RunConfig
    t_s: float  # seconds since launch
    status: str = "starting"
    reason: str = ""
    interpreter: Mapping[str, Any] = field(default_factory=dict)
    machine: Mapping[str, Any] = field(default_factory=dict)
    max_workers: Optional[int] = None
    default_max_workers: Optional[int] = None
    run_elapsed_s: float = 0.0  # since the executor was created
    counts: Counts = Counts()
    expected_tasks: Optional[int] = None
    queue_source: str = "executor"
    workers: Tuple[WorkerView, ...] = ()
    throughput_per_s: float = 0.0  # over the last second
    mean_throughput_per_s: float = 0.0  # since the executor was created
    latency_s: Tuple[float, float, float] = (0.0, 0.0, 0.0)  # p50 p95 p99
    breakdown: Breakdown = Breakdown()
    ipc_bytes_sent: int = 0
    ipc_bytes_received: int = 0
    cpu: CpuView = CpuView()
    gil: GilView = GilView()
    alerts: Tuple[Alert, ...] = ()  # newest first
    runner_threads: int = 0
    first_error: str = ""
    startup_s: Optional[float] = None  # launch -> executor created
    first_task_start_s: Optional[float] = None  # first submit -> first task began
    workload_summary: str = ""
    mode: str = "submit"  # submit | map (the workload's submission style)
    chunksize: Optional[int] = None  # map mode
    threads_at_first_submit: Tuple[str, ...] = ()  # runner threads when workers were forked
    warnings: Tuple[str, ...] = ()  # Python warnings raised in the runner (newest last)
    worker_exits: Tuple[Tuple[int, int], ...] = ()  # (pid, exit code) of dead process workers
    worker_exit_t_s: Tuple[float, ...] = ()  # when each of worker_exits was seen (seconds since launch)
    pool_broken: bool = False  # a process pool that lost a worker and refuses work
    source: str = "runner"  # the Source (source.py): runner (a built-in or custom workload) | program | attach
    executors: Tuple[ExecutorView, ...] = ()  # program and attach sources: one per executor
    program: Optional[ProgramView] = None
    # Panels this source cannot fill, with the reason (an attached process).
    unavailable: Tuple[Tuple[str, str], ...] = ()
    observer: Mapping[str, Any] = field(default_factory=dict)  # what watching costs the run (observer.py)

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def active_alerts(self) -> Tuple[Alert, ...]:
        return tuple(a for a in self.alerts if a.active)


@dataclass(frozen=True)
class RunRecord:
    """What a finished (or stopped) run leaves (``Session.record()``); read by
    ``report.run_json``, compare, the tour and the TUI's compare view."""

    snapshot: Snapshot  # the last one, with the final status
    interpreter: Mapping[str, Any] = field(default_factory=dict)  # probed: path, version (no hello needed)
    marks: Tuple[Mapping[str, Any], ...] = ()  # {name, t_s, data}: the workload's timestamped events
    warnings: Tuple[Mapping[str, Any], ...] = ()  # {t_s, category, message, where}: Python warnings
    errors: Tuple[Mapping[str, Any], ...] = ()  # {task, message, traceback}: the first task exceptions
    exits: Tuple[Mapping[str, Any], ...] = ()  # {pid, exitcode, t_s}: process workers that died
    threads_at_first_submit: Optional[Tuple[str, ...]] = None  # as the runner reported them, if it did
    timeline: Tuple[Mapping[str, Any], ...] = ()  # ~10 points a second (runstate.Timeline)
    cpu_means: Tuple[float, ...] = ()  # mean percent of each logical CPU while running
    tree_cpu_mean: float = 0.0  # the process tree, % of one core
    peak_rss_bytes: int = 0
    peak_uss_bytes: Optional[int] = None
    output_bytes: int = 0
    output_tail: Tuple[str, ...] = ()  # the watched process's last lines
    usage_error: Optional[str] = None  # the runner refused the run's settings
    tick_errors: Tuple[str, ...] = ()  # bugs caught while ticking (never expected)
