"""Scripted snapshots: a stand-in for a Session in tests, benchmarks and the one
screenshot of a machine this project does not have (128 cores).

Nothing here starts a process.  ``script(config, cores)`` returns the whole
run as a list of Snapshots, ten per second, with numbers modelled on real runs
of the built-in workloads on a 2-core machine (cpu: ~9 ms per task serial;
pickle_heavy: 8 MiB per task, >95% of a task's service time in IPC) and scaled
to the requested core count.  Randomness is seeded from the run, so the same
config always yields the same pictures.  Every alert comes from the real
detectors run over the scripted history.

Program and attach runs (``execscope run -- python prog.py``, ``execscope
attach PID``) are scripted in ``tui_fake_program``.

``FakeSession`` speaks the part of the Session API the TUI uses; with
``pause_at`` it delivers the script up to that share of the run at start()
and then behaves like a run in progress until stop().
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import zlib
from dataclasses import dataclass, replace
from typing import Callable, List, Optional, Tuple

from execscope import detect
from execscope.model import (Alert, Breakdown, Counts, GilThread, GilView, RunConfig, RunRecord, Snapshot,
                             WorkerView)
from fixtures.snapshots import cpu_view, machine, snap as snapshot, worker

HZ = 10


@dataclass(frozen=True)
class Profile:
    workers: int
    rate: float  # tasks/s once warmed up
    busy_cores: float  # CPU the run keeps busy, in cores
    breakdown: Breakdown
    latency: Tuple[float, float, float]
    state: str  # what a busy worker is doing
    gil: Optional[Tuple[float, float]]  # per-worker (held, wait) shares
    startup_s: Optional[float]
    seconds: float  # length of the scripted run


def _workers_for(config: RunConfig, cores: int) -> int:
    if config.executor == "serial":
        return 1
    if config.workers:
        return config.workers
    return min(32, cores + 4) if config.executor == "thread" else cores


def profile(config: RunConfig, cores: int) -> Profile:
    """What the scripted run looks like for this workload and executor."""
    n = _workers_for(config, cores)
    kind, wl = config.executor, config.workload
    proc = kind == "process"
    startup = {"fork": 0.012, "forkserver": 0.05, "spawn": 0.09}.get(config.start_method or "", 0.0) if proc else None
    def ipc(s: float, x: float, d: float, rx: float) -> dict:
        return dict(ser=s, xfer=x, deser=d, rser=2e-6 if rx else 0.0, rxfer=rx, rdeser=1e-6 if rx else 0.0)

    if wl == "pickle_heavy":
        par = min(n, cores) if proc else 1
        b = Breakdown(queue=0.34, compute=0.00015, bytes_out=8 * 2 ** 20, bytes_in=21, tasks=1,
                      **(ipc(0.021, 0.013, 0.027, 0.021) if proc else ipc(0, 0, 0, 0)))
        return Profile(n, 26.0 if proc else 900.0, 1.6 if proc else 0.9, b, (0.41, 0.69, 0.73),
                       "serializing" if proc else "running", None, startup, 2.0)
    if wl == "recursive_submit":
        b = Breakdown(queue=0.004, compute=0.0052, tasks=1)
        return Profile(n, 0.0, 0.02, b, (0.0053, 0.0061, 0.0065), "blocked", None, None, 4.0)
    if wl == "io":
        b = Breakdown(queue=0.11, compute=0.0201, tasks=1, **(ipc(3e-6, 15e-6, 4e-6, 2e-4) if proc else ipc(0, 0, 0, 0)))
        return Profile(n, min(n, 200) * 45.0, 0.1 + 0.01 * n, b, (0.14, 0.24, 0.26), "running",
                       None, startup, 6.0)
    # cpu and everything else: pure-Python compute that holds the GIL
    if kind == "thread":
        par = 1.0
        gil = (1.0 / n, 1.0 - 1.0 / n)
    else:
        par = float(min(n, cores))
        gil = (0.97, 0.0) if proc else (0.99, 0.0)
    serial_task = 0.0095
    # threads lose a little to the GIL hand-over; processes to IPC and start-up
    rate = par / serial_task * (0.93 if proc else (0.96 if kind == "thread" and n > 1 else 1.0))
    compute = serial_task * (n / par if kind == "thread" else 1.0)
    queue = 0.31 * (1.0 / par if proc else 1.0)
    b = Breakdown(queue=queue, compute=compute, tasks=1,
                  **(ipc(3e-6, 15e-6, 4e-6, 2.7e-4) if proc else ipc(0, 0, 0, 0)),
                  bytes_out=62.0 if proc else 0.0, bytes_in=17.0 if proc else 0.0)
    p50 = queue + compute
    return Profile(n, rate, par, b, (p50, p50 * 1.8, p50 * 1.95), "running", gil, startup, 6.0)


def _rng(config: RunConfig, cores: int) -> random.Random:
    return random.Random(zlib.crc32(("%s|%s|%d" % (config.workload, config.label, cores)).encode()))


def _per_core(rng: random.Random, cores: int, busy: float, k: int) -> Tuple[float, ...]:
    """Spread ``busy`` cores of load: the first few cores full, the rest background noise.
    The busy cores drift over time, as the scheduler moves threads around."""
    values = [max(0.0, min(100.0, rng.gauss(4.0, 2.5))) for _ in range(cores)]
    full = int(busy)
    shift = (k // 25) % cores
    for j in range(min(full, cores)):
        values[(j * 7 + shift) % cores] = min(100.0, 93.0 + rng.random() * 7.0)
    rest = busy - full
    if rest > 0.02 and full < cores:
        values[(full * 7 + shift) % cores] = min(100.0, rest * 100.0 + rng.random() * 5)
    return tuple(round(v, 1) for v in values)


def script(config: RunConfig, cores: int = 2, *, finish: bool = True,
           t0: float = 0.25) -> List[Snapshot]:
    """The whole scripted run, oldest first, ten snapshots a second."""
    from execscope.tui.sources import source_of
    from tui_fake_program import attach_script, program_script

    source = source_of(config)
    if source == "program":
        return program_script(config, cores, finish=finish)
    if source == "attach":
        return attach_script(config, cores, finish=finish)
    p = profile(config, cores)
    rng = _rng(config, cores)
    total = config.tasks or (8 if config.workload == "recursive_submit" else max(1, int(p.rate * p.seconds)))
    ticks = int(p.seconds * HZ)
    thread_kind = config.executor != "process"
    workers_n = p.workers
    base_pid = 41200
    snaps: List[Snapshot] = []
    history: List[Snapshot] = []
    book = detect.AlertBook()
    usable = cores
    done_f = 0.0
    for k in range(1, ticks + 1):
        t = round(t0 + k / HZ, 3)
        elapsed = max(0.0, t - t0)
        warm = min(1.0, elapsed / 0.6)
        if config.workload == "recursive_submit":
            completed = min(3, k // 2)
            running, blocked = 0, workers_n
            submitted = config.tasks or 8
            submitted += completed + workers_n * 2
            queued = max(0, submitted - completed - workers_n)
        else:
            done_f = min(float(total), done_f + p.rate * warm / HZ * (0.85 + rng.random() * 0.3))
            completed = int(done_f)
            running = min(workers_n, total - completed)
            blocked = 0
            submitted = total
            queued = max(0, total - completed - running)
        final = finish and (k == ticks or (completed >= total and config.workload != "recursive_submit"))
        status = "running"
        reason = ""
        if final:
            if config.workload == "recursive_submit":
                status, reason = "deadlock", ""
            else:
                status, completed, running, queued = "completed", total, 0, 0
        busy = p.busy_cores * warm if running or blocked else 0.1
        per_core = _per_core(rng, cores, busy, k)
        tree = busy * 100.0 * (0.96 + rng.random() * 0.06)
        workers = []
        for w in range(workers_n):
            label = ("pid %d" % (base_pid + w)) if not thread_kind else (
                "MainThread" if config.executor == "serial" else "worker_%d" % w)
            if blocked:
                state, task, blocked_on = "blocked", 3 + w, 10 + 2 * w
            elif status != "running" or w >= running:
                state, task, blocked_on = "idle", -1, -1
            else:
                phase = (k + w * 3) % 10
                state = p.state if phase < 8 else "running"
                task, blocked_on = completed + w, -1
            cpu = None
            if p.gil is not None and state == "running":
                cpu = round(min(100.0, 100.0 * p.gil[0] * (0.9 + rng.random() * 0.2)), 1)
            elif state in ("running", "serializing"):
                cpu = round(busy * 100.0 / max(1, workers_n) * (0.9 + rng.random() * 0.2), 1)
            elif not thread_kind:
                cpu = 0.0
            held = wait = released = None
            if p.gil is not None and state != "idle":
                jitter = rng.random() * 0.06 - 0.03
                held = max(0.0, min(1.0, p.gil[0] + jitter))
                wait = max(0.0, min(1.0 - held, p.gil[1] - jitter))
                released = max(0.0, 1.0 - held - wait)
            workers.append(worker(
                w, state, process=not thread_kind, task=task,
                age=round((k % 7) * 0.013 + w * 0.004 + (elapsed if blocked else 0.0), 3),
                done=completed // workers_n + (1 if w < completed % workers_n else 0),
                blocked_on=blocked_on, cpu=cpu, gil_wait=wait,
                startup_s=(p.startup_s + w * 0.002) if p.startup_s is not None else None,
                key=("p:%d" % (base_pid + w)) if not thread_kind else "t:%d" % (base_pid + 100 + w),
                label=label, pid=base_pid + w if not thread_kind else base_pid - 1,
                tid=0 if not thread_kind else base_pid + 100 + w,
                busy_s=round(elapsed * (0.9 if running else 0.01), 3), gil_held=held, gil_released=released,
            ))
        gil = _gil_view(p, workers)
        b = p.breakdown
        b = replace(b, tasks=max(completed, 0))
        now = snapshot(
            t, _filled(config, workers_n, total), status=status, reason=reason, machine=machine(cores),
            max_workers=workers_n, default_max_workers=min(32, cores + 4),
            run_elapsed_s=elapsed, counts=Counts(submitted=submitted, queued=queued,
                                                 dispatched=min(queued, workers_n) if not thread_kind else 0,
                                                 running=running, blocked=blocked,
                                                 completed=completed),
            expected_tasks=total,
            workers=workers,
            throughput_per_s=round(p.rate * warm * (0.9 + rng.random() * 0.2), 2) if running else 0.0,
            mean_throughput_per_s=completed / elapsed if elapsed else 0.0,
            latency_s=p.latency if completed else (0.0, 0.0, 0.0),
            bd=b if completed else Breakdown(),
            ipc_bytes_sent=int(b.bytes_out * completed), ipc_bytes_received=int(b.bytes_in * completed),
            cpu=cpu_view(usable, cores, total=round(sum(per_core) / cores, 1), tree=round(tree, 1),
                         per_core=per_core, tree_rss_bytes=(60 + 12 * workers_n) * 2 ** 20),
            gil=gil, runner_threads=workers_n + 2 if thread_kind else 3,
            startup_s=0.05, workload_summary=_summary(config.workload),
        )
        history.append(now)
        findings = detect.evaluate(history[-50:])
        now = replace(now, alerts=book.update(findings, t))
        if final and status == "deadlock":
            active = book.active("starvation")
            now = replace(now, reason=active.message if active else "deadlock")
        history[-1] = now
        snaps.append(now)
        if final:
            break
    return snaps


def _filled(config: RunConfig, workers: int, tasks: int) -> RunConfig:
    if config.executor == "process" and not config.start_method:
        config = config.with_(start_method="forkserver")
    if config.tasks is None and config.duration is None:
        config = config.with_(tasks=tasks)
    return config


def _summary(name: str) -> str:
    try:
        from execscope.workloads import catalog

        return catalog()[name].summary
    except Exception:
        return ""


def _gil_view(p: Profile, workers: List[WorkerView]) -> GilView:
    if p.gil is None:
        return GilView(source="unavailable", reason="py-spy cannot attach here (ptrace_scope=1, not root)")
    threads = tuple(GilThread(name=w.label, pid=w.pid, tid=w.tid, held=w.gil_held or 0.0,
                              wait=w.gil_wait or 0.0, released=w.gil_released or 0.0,
                              idle=0.0, samples=200) for w in workers)
    return GilView(source="py-spy", reason="", threads=threads, window_s=2.0)


class FakeSession:
    """Plays a script through the listener like a Session would, without processes."""

    def __init__(self, config: RunConfig, listener: Callable[[Snapshot], None], cores: int = 2,
                 pause_at: Optional[float] = None) -> None:
        self.config = config
        self.listener = listener
        self.cores = cores
        self.pause_at = pause_at
        self._script = script(config, cores)
        self._latest: Optional[Snapshot] = None
        self._stopped = threading.Event()
        self.started = False
        self.closed = False

    def start(self) -> "FakeSession":
        self.started = True
        upto = len(self._script)
        if self.pause_at is not None:
            upto = max(1, int(len(self._script) * self.pause_at))
        for snap in self._script[:upto]:
            self._deliver(snap)
        if upto >= len(self._script):
            self._stopped.set()
        return self

    def _deliver(self, snap: Snapshot) -> None:
        self._latest = snap
        self.listener(snap)

    def wait(self, timeout: Optional[float] = None) -> Optional[Snapshot]:
        self._stopped.wait(timeout)
        return self._latest

    def stop(self, status: str = "interrupted", reason: str = "stopped by the user") -> None:
        if self._stopped.is_set():
            return
        if self._latest is not None:
            self._deliver(replace(self._latest, status=status, reason=reason))
        self._stopped.set()

    def close(self) -> None:
        self.stop()
        self.closed = True

    def snapshot(self) -> Optional[Snapshot]:
        return self._latest

    def record(self) -> Optional[RunRecord]:
        return None  # a scripted run measured nothing: no run record (the tour calls its claims unmeasured)

    usage_error = None


class FakeFactory:
    """A session factory for the app: ``ExecscopeApp(session_factory=FakeFactory(16))``."""

    def __init__(self, cores: int = 2, pause_at: Optional[float] = 0.75) -> None:
        self.cores = cores
        self.pause_at = pause_at
        self.sessions: List[FakeSession] = []

    def __call__(self, config: RunConfig, listener: Callable[[Snapshot], None],
                 refresh_hz: float = 10.0) -> FakeSession:
        from execscope.errors import UsageError

        if config.workload == "no_such_workload":
            raise UsageError("unknown workload 'no_such_workload' (try: execscope list)")
        session = FakeSession(config, listener, self.cores, self.pause_at)
        self.sessions.append(session)
        return session


def finished_alert(kind: str = "starvation") -> Alert:
    """A cleared alert, for panels that list history."""
    return Alert(kind=kind, severity="warning", t_s=1.0, message="a past condition",
                 remedy="nothing to do", active=False, cleared_t_s=2.0)


# -- driving an app on scripted data (tests, benchmarks, the 128-core screenshot) --

def pictured_steps():
    """The tour's steps as pictures and tests show them: the real steps, less
    C14, which runs only where a free-threaded interpreter is installed (the
    pictures would change with the machine)."""
    from execscope.tui.tour_steps import tour_steps

    return tour_steps(claims=["C%d" % i for i in range(1, 14)])


def make_app(config: Optional[RunConfig] = None, *, cores: int = 2, tour: bool = False,
             pause_at: Optional[float] = 0.75, auto_s: Optional[float] = None,
             frozen_clock: float = 1000.0):
    """An app whose sessions are scripted (no process), on a frozen clock, walking
    the tour's real steps."""
    from execscope.tui.app import ExecscopeApp

    return ExecscopeApp(config, tour=tour, auto_s=auto_s, steps=list(pictured_steps()),
                        session_factory=FakeFactory(cores, pause_at=pause_at),
                        compare_factory=FakeFactory(cores, pause_at=None),
                        clock=lambda: frozen_clock)


def screen_text(app) -> str:
    """The screen as plain text, one line per row."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


async def settle(pilot, timeout: float = 10.0) -> None:
    """Wait until the current run's scripted snapshots are all on screen (or it failed)."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause()
        run = app.current_run
        if run is None or (run.error and run.closed.is_set()):
            break
        session = run.session
        if isinstance(session, FakeSession) and session.started \
                and run.latest is session.snapshot() and not run._posted:
            break
        await asyncio.sleep(0.02)
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def settle_compare(pilot, timeout: float = 10.0) -> None:
    """Wait until the compare screen's runs are all done and drawn."""
    screen = pilot.app.screen
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = getattr(screen, "run", None)
        if run is not None and run.closed.is_set() and not getattr(screen, "_pending", False):
            break
        await asyncio.sleep(0.02)
        await pilot.pause()
    await pilot.pause()
    await pilot.pause()
