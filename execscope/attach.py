"""The attach source: ``execscope attach PID`` watches a running Python process from outside.

Nothing is injected: the process runs as it was started, so what its
executors keep inside (the queue, each task's times) cannot be seen.  What
can be seen:

    per-core CPU, the process tree's CPU,      psutil, as for every run
    threads and processes
    per-thread GIL held / wait                 the GIL sampler (py-spy), when
                                               one is configured
    worker states from stacks                  ``py-spy dump --json`` of the
                                               process and its children,
                                               classified here (pure functions)
    starvation                                 ``starvation_from_stacks``: every
                                               worker of a pool blocked in
                                               Future.result / wait

A worker is recognised by its stack: a thread inside ``_worker`` of
``concurrent/futures/thread.py`` is a thread-pool worker (idle when nothing
runs above it: it sits in its work queue's ``get``, a C call; running when
``_WorkItem.run`` is above it; blocked when a ``Future.result``/``wait`` of
``concurrent/futures/_base.py`` is above that); a process inside
``_process_worker`` of ``concurrent/futures/process.py`` is a process-pool
worker (idle while only ``multiprocessing`` code is above it).  Threads are
grouped into pools by their name (``ThreadPoolExecutor-0_3`` is worker 3 of
``ThreadPoolExecutor-0``; ``asyncio_1`` belongs to asyncio's default executor).

py-spy is found and run through ``sampling/pyspy.py`` (``find_pyspy`` honours
``EXECSCOPE_PYSPY``; ``dump`` reads one process's stacks), as for the GIL
sampler.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import replace
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import psutil

from . import detect
from .detect.base import Finding, r
from .detect.starvation import KIND as STARVATION, REMEDY as STARVATION_REMEDY
from .errors import UsageError
from .executors import BoundMeter, ExecutorAlerts, executor_view, merge_ticks
from .interpreters import probe
from .model import ProgramView, RunConfig, Snapshot, WorkerView
from .sampling.pyspy import dump, find_pyspy
from .source import SourceContext
from .attach_agent import AgentLink

DUMP_EVERY_S = 0.5  # py-spy dump pauses the target for a moment: twice a second is enough for states
MAX_CHILDREN = 16  # child processes dumped per round
VALIDATE_DUMPS = 3  # tries before attach says the process cannot be read
FAILURES_SHOWN = 3  # consecutive failed dumps of the process before the workers panel says why
MIN_RUNNING_DUMPS = 3  # dumps that found a process worker running before its CPU while running is told
BLOCKED_HOLD_S = 1.0  # every worker blocked this long: starvation (from stacks)
IDLE, RUNNING, BLOCKED = "idle", "running", "blocked"
_WAIT_FUNCTIONS = {"result", "exception", "wait", "as_completed", "_result_or_cancel"}
_FUTURES = "concurrent/futures/"
_POOL_SUFFIX = re.compile(r"^(.*?)[_-]?(\d+)$")

UNAVAILABLE = (
    ("queue", "queue depth lives inside the executor, which attach does not instrument "
              "(run the program with `execscope run -- python prog.py` to see it)"),
    ("tasks", "task counts, throughput and latency are counted by execscope's instrumentation, "
              "absent in attach mode"),
    ("breakdown", "per-task queue wait, pickling, transfer and compute times need the instrumented "
                  "submit; not visible from outside"),
    ("ipc", "bytes pickled to process workers are measured inside the executor: not in attach mode"),
)


# -- classifying stacks (pure: py-spy dump --json in, states out) ------------------

def _frame_file(frame: Dict[str, Any]) -> str:
    return str(frame.get("short_filename") or frame.get("filename") or "").replace(os.sep, "/")


def _short_name(frame: Dict[str, Any]) -> str:
    return str(frame.get("name", "")).rsplit(".", 1)[-1]


def _is(frame: Dict[str, Any], name: str, module: str) -> bool:
    return _short_name(frame) == name and _frame_file(frame).endswith(_FUTURES + module)


def classify(frames: Sequence[Dict[str, Any]]) -> Optional[Tuple[str, str, str]]:
    """(kind, state, doing) of a thread from its frames (innermost first, as
    py-spy gives them), or None when it is no executor's worker.  ``doing``
    names the innermost frame of the program's own code, when there is one.

    kind: ``thread`` (a ThreadPoolExecutor worker) or ``process`` (the main
    thread of a ProcessPoolExecutor worker process); state: idle | running |
    blocked."""
    for i, frame in enumerate(frames):
        if _is(frame, "_worker", "thread.py"):
            kind = "thread"
        elif _is(frame, "_process_worker", "process.py"):
            kind = "process"
        else:
            continue
        above = list(frames[:i])  # the frames it is running, innermost first
        if kind == "process":
            above = [f for f in above if not _frame_file(f).startswith("multiprocessing/")]
            if not above:
                return kind, IDLE, ""
        elif not any(_is(f, "run", "thread.py") for f in above):
            return kind, IDLE, ""
        doing = next((_describe(f) for f in above if not _frame_file(f).startswith("concurrent/")
                      and not _frame_file(f).startswith("threading")), "")
        for f in above:
            if _short_name(f) in _WAIT_FUNCTIONS and _frame_file(f).endswith(_FUTURES + "_base.py"):
                return kind, BLOCKED, doing
        return kind, RUNNING, doing
    return None


def _describe(frame: Dict[str, Any]) -> str:
    return "%s (%s:%s)" % (frame.get("name", "?"), _frame_file(frame), frame.get("line", "?"))


def pool_name(thread_name: Optional[str], pid: int) -> str:
    """The pool a worker thread belongs to, from its name.

    >>> pool_name("ThreadPoolExecutor-0_3", 7), pool_name("asyncio_1", 7), pool_name(None, 7)
    ('ThreadPoolExecutor-0', 'asyncio', 'threads of pid 7')
    """
    if not thread_name:
        return "threads of pid %d" % pid
    match = _POOL_SUFFIX.match(thread_name)
    return match.group(1) if match and match.group(1) else thread_name


class StackStates:
    """Worker states across dumps: how long each has been in its state.

    Pools seen once stay in every later tick, retired, with the workers they
    last had: a process that exits takes its pools out of its stacks first.

    A process worker's CPU while it runs cannot be read at one dump: its state
    holds until the next dump (half a second) while its tasks may last
    milliseconds.  ``busy_cpu`` estimates it over the worker's life instead:
    the CPU time it used divided by the time it ran, that time being its
    share of dumps that found it running."""

    def __init__(self, parent_of: Optional[Callable[[int], Optional[int]]] = None,
                 cpu_time_of: Optional[Callable[[int], Optional[float]]] = None) -> None:
        self._since: Dict[str, Tuple[str, str, float]] = {}  # key -> (state, doing, since)
        self._done: Dict[str, int] = {}
        self._parent_of = parent_of or _ppid
        self._cpu_time_of = cpu_time_of or _cpu_time
        self._busy: Dict[int, List[float]] = {}  # process worker pid -> [t0, cpu0, t, cpu, dumps, running]
        self._owners: Dict[int, int] = {}  # process worker pid -> its pool's process, once found
        self.retired: Dict[str, Dict[str, Any]] = {}  # pool id -> its last entry
        self._live: Dict[str, Dict[str, Any]] = {}

    def tick(self, dumps: Dict[int, List[Dict[str, Any]]], now: float) -> Dict[str, Any]:
        """A runner-style tick (workers rows, one executor entry per pool) from
        one dump of each process: ``{pid: py-spy dump --json output}``."""
        pools: Dict[str, Dict[str, Any]] = {}
        seen = set()
        threads = 0
        for pid, dump in sorted(dumps.items()):
            for thread in dump:
                threads += 1
                found = classify(thread.get("frames") or ())
                if found is None:
                    continue
                kind, state, doing = found
                tid = int(thread.get("os_thread_id") or 0)
                key = "p:%d" % pid if kind == "process" else "t:%d" % tid
                seen.add(key)
                previous = self._since.get(key)
                if previous is None or previous[0] != state or previous[1] != doing:
                    if previous is not None and previous[0] != IDLE and state == IDLE:
                        # a task ended between dumps (a lower bound: short tasks come and go unseen)
                        self._done[key] = self._done.get(key, 0) + 1
                    self._since[key] = (state, doing, now)
                since = self._since[key][2]
                owner = pid
                if kind == "process":
                    owner = self._owner(pid, dumps)
                    self._count_busy(pid, state, now)
                    pool_id, label, row_pid, row_tid = "%d:processes" % owner, "pid %d" % pid, pid, 0
                else:
                    pool_id = "%d:%s" % (pid, pool_name(thread.get("thread_name"), pid))
                    label, row_pid, row_tid = thread.get("thread_name") or "tid %d" % tid, pid, tid
                entry = pools.setdefault(pool_id, _entry(pool_id, kind, owner, now))
                entry["workers"].append([key, label, row_pid, row_tid, state, -1, since,
                                         self._done.get(key, 0), 0.0, -1, 0.0])
                if state != IDLE:
                    entry[state] += 1
                entry["max_workers"] += 1  # the workers seen (a pool starts them as work arrives)
        for key in list(self._since):
            if key not in seen:
                del self._since[key]
        for pool_id, entry in self._live.items():
            if pool_id not in pools:
                self.retired[pool_id] = dict(entry, running=0, blocked=0)
        for pool_id in pools:
            self.retired.pop(pool_id, None)  # seen again (a pool's workers all gone for a dump)
        self._live = pools
        tick = merge_ticks([{"t": now, "threads": threads, "executors": list(pools.values())}],
                           list(self.retired.values()))
        tick["k"] = "tick"
        return tick

    def _owner(self, pid: int, dumps: Dict[int, List[Dict[str, Any]]]) -> int:
        """The process a pool worker belongs to: the nearest dumped ancestor
        running an executor's manager thread (3.14's default start method
        forks workers from a fork server, not from the pool's process); else
        its parent, else the owner found before (a worker exiting has no parent
        to read), else itself."""
        parent = self._parent_of(pid)
        if parent is None:
            return self._owners.get(pid, pid)
        ancestor = parent
        for _ in range(3):
            if ancestor not in dumps:
                break
            if any(_frame_file(f).endswith(_FUTURES + "process.py")
                   for thread in dumps[ancestor] for f in thread.get("frames") or ()):
                self._owners[pid] = ancestor
                return ancestor
            ancestor = self._parent_of(ancestor)
        return self._owners.get(pid, parent)  # its parent's dump may have failed this round

    def _count_busy(self, pid: int, state: str, now: float) -> None:
        cpu = self._cpu_time_of(pid)
        if cpu is None:
            return
        busy = self._busy.get(pid)
        if busy is None:
            self._busy[pid] = [now, cpu, now, cpu, 0, 0]
            return  # the first dump starts the span
        busy[2], busy[3] = now, cpu
        busy[4] += 1
        busy[5] += state != IDLE

    def busy_cpu(self, pid: int) -> Optional[float]:
        """CPU percent of a process worker while it runs (see the class); None
        until a few dumps found it running."""
        busy = self._busy.get(pid)
        if busy is None or busy[5] < MIN_RUNNING_DUMPS or busy[2] <= busy[0]:
            return None
        share = (busy[3] - busy[1]) / (busy[2] - busy[0])
        return min(100.0, 100.0 * share / (busy[5] / busy[4]))


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _cpu_time(pid: int) -> Optional[float]:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def _ppid(pid: int) -> Optional[int]:
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None


def _entry(pool_id: str, kind: str, pid: int, now: float) -> Dict[str, Any]:
    name = pool_id.split(":", 1)[1]
    where = ("process pool of pid %d" % pid) if kind == "process" else ("thread pool %r" % name)
    return {"id": pool_id, "pid": pid, "kind": kind, "created_at": where, "function": "", "via": None,
            "start_method": None, "max_workers": 0, "t_created": now, "submitted": 0, "completed": 0,
            "failed": 0, "queued": 0, "dispatched": 0, "running": 0, "blocked": 0,
            "queue_source": "unavailable", "workers": [], "totals": {}}


def starvation_from_stacks(history: Sequence[Snapshot]) -> Optional[Finding]:
    """Every worker of a thread pool blocked in Future.result/wait for a while.

    The instrumented detector also checks that tasks are queued; from outside
    the queue is invisible, so this one says what it saw and what it could
    not."""
    snap = history[-1]
    if snap.config.executor != "thread" or not snap.workers:
        return None
    blocked = [w for w in snap.workers if w.state == BLOCKED]
    if len(blocked) < len(snap.workers):
        return None
    since = max(snap.t_s - w.state_age_s for w in blocked)
    if snap.t_s - since < BLOCKED_HOLD_S:
        return None
    return Finding(
        kind=STARVATION,
        severity="critical",
        message=("all %d worker threads of this pool have been blocked in Future.result/wait for %.1f s: if they "
                 "wait on tasks of the same pool, those tasks can never start (a deadlock); the queue itself is "
                 "not visible from outside" % (len(blocked), snap.t_s - since)),
        remedy=STARVATION_REMEDY,
        evidence={"form": "all_blocked", "source": "stacks", "blocked_workers": sorted(w.label for w in blocked),
                  "blocked_for_s": r(snap.t_s - since, 2)},
        panel="workers",
        since_t_s=since,
    )


DETECTORS = tuple(d for d in detect.DETECTORS if d is not detect.starvation) + (starvation_from_stacks,)


def _denied_why(pid: int) -> str:
    """Why /proc would not show a process's executable: the real reason, not a guess."""
    try:
        owner = psutil.Process(pid).uids().real
    except (psutil.Error, OSError):
        owner = None
    if owner is not None and owner != os.geteuid() and os.geteuid() != 0:
        try:
            import pwd

            name = pwd.getpwuid(owner).pw_name
        except (KeyError, ImportError):
            name = "uid %d" % owner
        return "it belongs to %s; attach as that user or as root" % name
    return ("the kernel will not show its executable (/proc/%d/exe) even to %s: it is outside this "
            "process's namespace or protected, as init often is" % (pid, "root" if os.geteuid() == 0 else "its owner"))


# -- the source --------------------------------------------------------------------

def validate(config: RunConfig) -> Tuple[RunConfig, None, Dict[str, Any]]:
    pid = config.attach_pid
    if pid is None or pid <= 0:
        raise UsageError("attach %s: give the id of a running process" % pid)
    if pid == os.getpid():
        raise UsageError("attach %d: that is execscope itself" % pid)
    try:
        proc = psutil.Process(pid)
        exe = proc.exe()
        cmdline = proc.cmdline()
    except psutil.NoSuchProcess:
        raise UsageError("attach %d: no such process" % pid) from None
    except psutil.AccessDenied:
        raise UsageError("attach %d: not permitted to inspect that process (%s)" % (pid, _denied_why(pid))) from None
    if config.duration is not None and not (0 < config.duration <= 7 * 24 * 3600):
        raise UsageError("--duration %s: must be a positive number of seconds" % config.duration)
    pyspy, why = find_pyspy()
    if pyspy is None:
        raise UsageError("attach needs py-spy to read the process's stacks: %s" % why)
    for _ in range(VALIDATE_DUMPS):  # a dump can fail while the process changes (threads starting)
        threads, problem = dump(pyspy, pid)
        if threads is not None or not psutil.pid_exists(pid):
            break
    if threads is None:
        raise UsageError("attach %d: %s" % (pid, problem))
    try:
        info = probe(exe)
    except UsageError:
        info = {"path": exe, "version": [0, 0, 0]}
    name = " ".join(cmdline) or exe
    return config.with_(executor="attach", workload=name, argv=(), python=exe), None, info


class AttachSource:
    """A running process watched from outside (see source.py): sampling stacks,
    views, what is unavailable.  Its detectors are attach's own (``DETECTORS``)."""

    name = "attach"
    ends_at_last_task = False

    def __init__(self, config: RunConfig, detectors: Sequence[Any], history_len: int) -> None:
        self.config = config
        self.ctx: Optional[SourceContext] = None
        self.pid = int(config.attach_pid)
        self.pyspy = find_pyspy()[0] or "py-spy"
        self.alerts = ExecutorAlerts(DETECTORS, history_len)
        self.history_len = history_len
        self.meter = BoundMeter()
        self.states = StackStates()
        self.problem = ""
        self.failures = 0
        self.exited = False
        self.agent: Optional[AgentLink] = None
        self._stop = threading.Event()
        try:
            self.cmdline = tuple(psutil.Process(self.pid).cmdline())
        except psutil.Error:
            self.cmdline = ()

    def launch(self, ctx: SourceContext) -> None:
        from .machine import cpu_info

        self.ctx = ctx
        self.agent = AgentLink(self.pid, ctx, self.history_len)
        info = ctx.interpreter
        version = info.get("version") or [0, 0, 0]
        ctx.state.apply({
            "k": "hello", "pid": self.pid, "t": time.monotonic(), "machine": cpu_info(),
            "interpreter": {"executable": info.get("path"), "version": ".".join(map(str, version)),
                            "implementation": info.get("implementation", "cpython"),
                            "gil_enabled": info.get("gil_enabled", True),
                            "free_threaded_build": info.get("free_threaded_build", False),
                            "switch_interval_s": None},
        })
        ctx.state.apply({"k": "pool", "t": ctx.t_launch})
        ctx.spawn(self._sample, "execscope-attach")
        return None  # the process is not ours: nothing to kill at the end

    def _sample(self) -> None:
        ctx = self.ctx
        duration = ctx.config.duration
        end = ctx.t_launch + duration if duration else None
        if self.config.instrument:
            self.agent.start(self._environ(), self.cmdline)
        else:
            self.agent.reason = "asked for with --stacks-only"
        while not self._stop.is_set():
            t0 = time.monotonic()
            if end is not None and t0 >= end:
                ctx.finish("completed", "watched for %gs" % duration)
                return
            if not _alive(self.pid):
                self.exited = True
                self.agent.drain()  # its last tick and "bye" are on their way
                ctx.finish("completed", "the process exited")
                return
            if not self.agent.reported():
                dumps = self._dump_tree()
                if dumps and not self.agent.reported():
                    ctx.state.apply(self.states.tick(dumps, time.monotonic()))
            self._stop.wait(max(0.05, DUMP_EVERY_S - (time.monotonic() - t0)))

    def _environ(self) -> Optional[Dict[str, str]]:
        try:
            return psutil.Process(self.pid).environ()
        except psutil.Error:
            return None

    def _dump_tree(self) -> Dict[int, List[Dict[str, Any]]]:
        dumps: Dict[int, List[Dict[str, Any]]] = {}
        try:
            children = [p.pid for p in psutil.Process(self.pid).children(recursive=True)][:MAX_CHILDREN]
        except psutil.Error:
            children = []
        for pid in [self.pid] + children:
            threads, problem = dump(self.pyspy, pid)
            if threads is not None:
                dumps[pid] = threads
                if pid == self.pid:
                    self.failures, self.problem = 0, ""
            elif pid == self.pid:
                self.failures += 1
                if self.failures >= FAILURES_SHOWN:  # one failed read is noise, several are news
                    self.problem = problem
        return dumps

    def decorate(self, snap: Snapshot, tick: Dict[str, Any], worker_views: Any, now: float) -> Snapshot:
        if self.agent.reported():
            snap = self.agent.telemetry.decorate(snap, tick, worker_views, now)
            program = ProgramView(argv=self.cmdline, pid=self.pid, exited=self.exited,
                                  instrumented=True, processes=snap.program.processes if snap.program else 0,
                                  mode=self.agent.mode())
            return replace(snap, source=self.name, program=program, unavailable=self.agent.unavailable(snap))
        views = []
        busy = {}
        for entry in tick.get("executors", ()):
            state = "retired" if entry.get("id") in self.states.retired else "live"
            view = executor_view(entry, worker_views, self.ctx.t_launch, now, (), state)
            view = replace(view, workers=tuple(self._busy_cpu(w, busy) for w in view.workers))
            views.append(self.meter.update(view))
        unavailable = list(UNAVAILABLE)
        if snap.gil.source == "unavailable":
            unavailable.append(("gil", snap.gil.reason))
        if self.problem:
            unavailable.append(("workers", self.problem))
        program = ProgramView(argv=self.cmdline, pid=self.pid, exited=self.exited, mode=self.agent.mode())
        workers = tuple(self._busy_cpu(w, busy) for w in snap.workers)
        return replace(snap, source=self.name, executors=tuple(views), program=program, workers=workers,
                       unavailable=tuple(unavailable), max_workers=tick.get("max_workers"),
                       expected_tasks=None)

    def _busy_cpu(self, worker: WorkerView, memo: Dict[int, Optional[float]]) -> WorkerView:
        """A running process worker's CPU: while it runs (StackStates.busy_cpu),
        not over the last tick, which its stale "running" mostly spent idle."""
        if worker.kind != "process" or worker.state != RUNNING:
            return worker
        if worker.pid not in memo:
            memo[worker.pid] = self.states.busy_cpu(worker.pid)
        return replace(worker, cpu_percent=memo[worker.pid])

    def evaluate(self, snap: Snapshot, history: Sequence[Snapshot]) -> Snapshot:
        if self.agent.reported():
            return self.agent.telemetry.evaluate(snap, history)  # the instrumented detectors
        return self.alerts.evaluate(snap)  # each pool against its own history

    def poll(self) -> None:
        pass  # the sampling thread sees the process exit

    def finalize(self, snap: Snapshot) -> Snapshot:
        return snap

    def close(self) -> None:
        self._stop.set()
        if self.agent is not None:
            self.agent.close()  # the agent sees its socket close and detaches
