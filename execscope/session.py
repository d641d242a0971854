"""A session is one run: launch its source, merge its telemetry, tick snapshots.

    execscope process                                       runner process group
    ┌──────────────────────────────────────────────┐       ┌──────────────────┐
    │ source (source.py; here the RunnerSource):   │       │                  │
    │ reader thread ◄── JSON lines on a pipe ──────┼───────┤ runner + workers │
    │   └─► RunState (counters, task sums, rows)   │       └──────────────────┘
    │ ticker thread, every 1/refresh_hz s:         │              ▲
    │   CpuSampler (psutil) + GIL sampler ─────────┼──────────────┘ (reads)
    │   RunState + readings ─► Snapshot            │
    │   detectors(history) ─► AlertBook            │
    │   ─► listeners (TUI message / headless line) │
    └──────────────────────────────────────────────┘

The source decides what is watched and feeds the run state (the runner, a
program, an attached process: see source.py); it never sees the session.
The samplers see the run through ``SamplerTargets`` (sampling/targets.py).
The session owns the run's lifetime.  It decides ``timeout``, ``deadlock``
and ``interrupted``; ``close()`` kills the runner's process group and any
descendant that left it (collected with psutil before the kill), then waits
until every one of them is gone.  Everything measured stays in the session,
so a killed run still reports what it saw.
"""

from __future__ import annotations

import gc
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from dataclasses import replace
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

import psutil

from . import detect, protocol
from .observer import observer_figures
from .model import FINAL_STATUSES, GilView, RunConfig, RunRecord, Snapshot, WorkerView
from .sampling import saturation, sched
from .runstate import CpuMeans, RunOutput, RunState, Timeline
from .source import Source, SourceContext, make_source, python_env
from .sampling.cpu import CpuReading, CpuSampler
from .sampling.targets import SamplerTargets
from .snapshot import BuildConfig, Readings, RunEnd, build_snapshot, worker_views
from .validate import validate

HISTORY_S = 60.0

Listener = Callable[[Snapshot], None]


class Session:
    def __init__(
        self,
        config: RunConfig,
        *,
        refresh_hz: float = 10.0,
        listener: Optional[Listener] = None,
        detectors: Optional[Tuple[detect.Detector, ...]] = None,
        gil_sampler_factory: Optional[Callable[[SamplerTargets], Any]] = None,
        capture_output: bool = True,
    ) -> None:
        self.requested = config
        self.config, self.workload, self.interpreter = validate(config)
        self.passthrough_output = False  # a program run: also copy its output to ours (headless)
        self.refresh_s = 1.0 / max(0.2, min(refresh_hz, 50.0))
        self.listeners: List[Listener] = [listener] if listener else []
        self.detectors = detectors if detectors is not None else detect.DETECTORS
        self.state = RunState()
        self.history: Deque[Snapshot] = deque(maxlen=int(HISTORY_S / self.refresh_s))
        self.timeline = Timeline()
        self.cpu = CpuSampler()
        self.gil_factory = gil_sampler_factory
        self.gil: Any = None
        self.output = RunOutput()
        self.proc: Optional[subprocess.Popen] = None
        self.run_dir: Optional[str] = None
        self.t_launch = 0.0
        self._t_final = 0.0
        self.status = "starting"
        self.reason = ""
        self._final = threading.Event()
        self._closing = threading.Event()
        self._latest: Optional[Snapshot] = None
        self._record: Optional[RunRecord] = None
        self._threads: List[threading.Thread] = []
        self._known_pids: Dict[int, float] = {}  # pid -> create_time, everything we started
        self._deadlock_since: Optional[float] = None
        self._lock = threading.Lock()
        self.tick_errors: Deque[str] = deque(maxlen=20)
        self._cpu_means = CpuMeans()
        self._ticker_cpu_s = 0.0  # CPU the ticker thread used (psutil, /proc, snapshots, detectors)
        # What is watched: the runner, a program (run -- python prog.py) or a
        # running process (attach PID); see source.py.
        self.source: Source = make_source(self.config, self.detectors, self.history.maxlen or 600,
                                          capture_output=capture_output)
        self.alerts = self.source.alerts

    @property
    def target_pid(self) -> Optional[int]:
        """The process the samplers watch: the runner, the program, or the attached process."""
        if self.proc is not None:
            return self.proc.pid
        return self.config.attach_pid

    # -- launch ----------------------------------------------------------------

    def start(self) -> "Session":
        _return_freed_memory()  # what the runs before this one left in the heap
        self.run_dir = tempfile.mkdtemp(prefix="execscope-")  # 0700, ours alone
        self.t_launch = time.monotonic()
        ctx = SourceContext(
            config=self.config, interpreter=self.interpreter, run_dir=self.run_dir, t_launch=self.t_launch,
            state=self.state, output=self.output, passthrough_output=self.passthrough_output,
            python_env=lambda: python_env(self.run_dir, self.workload, self.config.params),
            spawn=self._spawn, remember=self._remember, finish=self.finish)
        self.proc = self.source.launch(ctx)
        workload = self.workload
        self._build_config = BuildConfig(
            config=self.config, t_launch=self.t_launch, target_pid=self.target_pid,
            ends_at_last_task=self.source.ends_at_last_task,
            workload_summary=workload.summary if workload else "",
            submit_mode=workload.mode if workload else "submit", chunksize=self._chunksize())
        return self._started()

    def _started(self) -> "Session":
        if self.proc is not None:
            self._remember(self.proc.pid)
        if self.target_pid is not None:
            self.cpu.attach(self.target_pid)
        if self.gil_factory is not None and self.config.gil_sampling:
            try:
                self.gil = self.gil_factory(self.sampler_targets())
            except Exception as exc:  # a sampler must never take the run down
                self.gil = None
                self._gil_error = str(exc)
        self._spawn(self._tick_loop, "execscope-ticker")
        return self

    def sampler_targets(self) -> SamplerTargets:
        """The narrow view of this run its samplers get."""
        def main_exited() -> Optional[bool]:
            return None if self.proc is None else self.proc.poll() is not None

        return SamplerTargets(self.state, self.interpreter, "runner" if self.source.name == "runner" else "main",
                              main_pid=lambda: self.target_pid, main_exited=main_exited,
                              status=lambda: self.status, cpu_per_core=self._recent_per_core)

    def _recent_per_core(self) -> List[float]:
        """Each core's busy percent over the last half second of ticks (the
        GIL sampler's test for a machine with no CPU to spare)."""
        n = max(1, round(saturation.WINDOW_S / self.refresh_s))
        readings = [s.cpu.per_core for s in list(self.history)[-n:] if s.cpu.per_core]
        if not readings or any(len(r) != len(readings[0]) for r in readings):
            return []
        return [sum(core) / len(readings) for core in zip(*readings)]

    def _spawn(self, target: Callable[..., None], name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, name=name, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _remember(self, pid: int) -> None:
        try:
            self._known_pids[pid] = psutil.Process(pid).create_time()
        except psutil.Error:
            pass

    # -- ticking -----------------------------------------------------------------

    def _tick_loop(self) -> None:
        next_t = time.monotonic()
        while True:
            finishing = self._final.is_set()
            cpu0 = time.thread_time()
            try:
                self._tick()
            except Exception as exc:  # never let a tick bug kill the session silently
                self.tick_errors.append("%s: %s" % (type(exc).__name__, exc))
                if finishing and self._latest is not None:
                    # the last snapshot must at least carry the final status
                    self._latest = replace(self._latest, status=self.status, reason=self.reason)
            self._ticker_cpu_s += time.thread_time() - cpu0
            if finishing:
                break
            next_t += self.refresh_s
            delay = next_t - time.monotonic()
            if delay < 0:
                next_t = time.monotonic()
                delay = 0
            self._final.wait(delay)
        self._closing.set()

    def _tick(self) -> None:
        now = time.monotonic()
        reading = self.cpu.sample()
        for pid in reading.tree_pids:
            if pid not in self._known_pids:
                self._remember(pid)
        states = sched.sample(reading.tree_pids, self._switch_tids())
        snap = self._build(now, reading, states)
        snap = replace(snap, observer=self._observer(snap))
        self._cpu_means.add(reading.per_core, reading.tree_percent, snap.status == "running")
        snap = self.source.evaluate(snap, self.history)
        self.history.append(snap)
        self.timeline.add(snap)
        self._latest = snap
        self._watchdogs(snap, now)
        for listener in list(self.listeners):
            try:
                listener(snap)
            except Exception:
                pass

    def _watchdogs(self, snap: Snapshot, now: float) -> None:
        if snap.finished:
            return
        cfg = self.config
        if cfg.timeout is not None and now - self.t_launch >= cfg.timeout:
            self.stop("timeout", "stopped after --timeout %gs" % cfg.timeout)
            return
        starving = self.alerts.active("starvation")
        if starving is not None and starving.severity == "critical":
            if self._deadlock_since is None:
                self._deadlock_since = now
            if cfg.on_deadlock == "stop" and now - self._deadlock_since >= cfg.deadlock_grace_s:
                self.stop("deadlock", starving.message)
                return
        else:
            self._deadlock_since = None
        self.source.poll()

    def _build(self, now: float, reading: CpuReading,
               states: Optional[sched.SchedReading] = None) -> Snapshot:
        state = self.state.copy()
        readings = Readings(cpu=reading, sched=states, gil=self._sampled_gil_view())
        config = self._build_config
        snap = build_snapshot(state, readings, config, now, RunEnd(self.status, self.reason, self._t_final))
        runner_now = state.tick.get("t", now)

        def views(entry: Dict[str, Any], t_created: Optional[float]) -> List[WorkerView]:
            return worker_views(entry, readings, snap.gil, runner_now, t_created, state.worker_started, config)

        return self.source.decorate(snap, dict(state.tick), views, runner_now)

    def _observer(self, snap: Snapshot) -> Dict[str, Any]:
        """What watching this run costs it so far (observer.py)."""
        with self.state.lock:
            own_cost = self.state.tick.get("own_cost")
        gil = self.gil
        pyspy_cpu = getattr(gil, "cpu_s", None)
        rates: Dict[str, Any] = {"refresh_hz": round(1.0 / self.refresh_s, 3)}
        sampler_rates = getattr(gil, "rates", None)
        if sampler_rates:
            rates["gil_holder_hz"] = sampler_rates.get("gil")
            rates["native_stacks_hz"] = sampler_rates.get("stacks")
            rates["gil_rounds_s"] = dict(getattr(gil, "rounds_s", {}))
            if getattr(gil, "light_rounds", 0):  # the machine had no CPU to spare (sampling/saturation.py)
                rates["gil_holder_light"] = dict(gil.light, rounds=gil.light_rounds)
        if own_cost:
            rates["instrumentation_timed_every"] = own_cost.get("every")
        usable = int((snap.machine or {}).get("usable_cpus") or os.cpu_count() or 1)
        elapsed = max(0.0, snap.t_s)
        return observer_figures(own_cost, snap.breakdown.service, pyspy_cpu, self._ticker_cpu_s,
                                elapsed, usable, rates)

    def _switch_tids(self) -> Dict[int, List[int]]:
        """Thread-pool worker threads, whose context switches tell GIL waits (sampling/sched.py)."""
        if self.config.executor == "process" or self.target_pid is None:
            return {}
        tid_at, pid_at = protocol.WORKER_INDEX["tid"], protocol.WORKER_INDEX["pid"]
        with self.state.lock:
            rows = list(self.state.tick.get("workers", ()))
        out: Dict[int, List[int]] = {}
        for row in rows:  # thread rows name their process in a program run (pid 0: the runner)
            if row[tid_at]:
                out.setdefault(row[pid_at] or self.target_pid, []).append(row[tid_at])
        return out

    def _chunksize(self) -> Optional[int]:
        if self.workload is None or self.workload.mode != "map":
            return None
        return int(self.workload.resolve_params(dict(self.config.params)).get("chunksize", 1))

    def _sampled_gil_view(self) -> GilView:
        if self.gil is not None:
            try:
                return self.gil.current()
            except Exception as exc:
                return GilView(source="unavailable", reason="GIL sampler failed: %s" % exc)
        if self.interpreter.get("free_threaded_build") and not self.interpreter.get("gil_enabled", True):
            return GilView(source="disabled", reason="free-threaded interpreter: there is no GIL to wait for")
        reason = getattr(self, "_gil_error", "") or "GIL sampling is off for this run"
        return GilView(source="unavailable", reason=reason)

    # -- ending ------------------------------------------------------------------

    def finish(self, status: str, reason: str) -> None:
        """The run is over with this status and reason (the first call decides);
        the ticker builds the last snapshot and ``wait()`` returns.  Nothing is
        killed: ``stop()`` does that, and ``close()`` in any case."""
        with self._lock:
            if self._final.is_set():
                return
            self.status = status
            self.reason = reason
            self._t_final = time.monotonic()
            self._final.set()

    def stop(self, status: str = "interrupted", reason: str = "stopped by the user") -> None:
        """End the run now (the measurements so far are kept)."""
        self.finish(status, reason)
        self._kill_tree()

    def wait(self, timeout: Optional[float] = None) -> Optional[Snapshot]:
        """Block until the run has ended and its last snapshot is built."""
        if not self._closing.wait(timeout):
            return None
        return self._latest

    def close(self) -> None:
        """Make sure nothing of this run survives, and remove its private files."""
        if self.proc is not None and self.proc.poll() is None and self.status in ("completed", "failed"):
            # the runner said done and is leaving by itself; a run that was
            # stopped (a signal, q, --timeout) is not waited for: it is killed
            try:
                self.proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                pass
        self._kill_tree()
        self.source.close()
        if self.gil is not None:
            try:
                self.gil.stop()
            except Exception:
                pass
        if not self._closing.is_set():
            self.finish(self.status if self.status in FINAL_STATUSES else "interrupted", self.reason)
            self._closing.wait(2.0)
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)
        if self._latest is not None:
            self._latest = self.source.finalize(self._latest)  # e.g. the exit code of a program we killed
        self._record = self._make_record()
        if self.run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def _kill_tree(self) -> None:
        """Freeze the run's process group, collect every descendant, kill them all.

        Stopping first matters: a run that keeps spawning (or a task that
        detaches a grandchild with setsid) could otherwise add processes
        between the moment we list the tree and the moment we kill it."""
        proc = self.proc
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGSTOP)
        except (ProcessLookupError, PermissionError):
            pass
        victims: Dict[int, psutil.Process] = {}
        try:
            root = psutil.Process(proc.pid)
            for p in [root] + root.children(recursive=True):
                victims[p.pid] = p
        except psutil.Error:
            pass
        for pid, created in list(self._known_pids.items()):
            if pid not in victims:
                try:
                    p = psutil.Process(pid)
                    if abs(p.create_time() - created) < 0.01:
                        victims[pid] = p
                except psutil.Error:
                    pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for p in victims.values():
            try:
                p.kill()  # psutil checks the pid still names the same process
            except psutil.Error:
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        wait_dead([p for pid, p in victims.items() if pid != proc.pid], timeout=5)

    # -- results -----------------------------------------------------------------

    def snapshot(self) -> Optional[Snapshot]:
        return self._latest

    def record(self) -> Optional[RunRecord]:
        """The run's frozen record (None before the first snapshot).  Once the
        session is closed it is the final one; before, what was seen so far."""
        if self._record is not None:
            return self._record
        return self._make_record()

    def _make_record(self) -> Optional[RunRecord]:
        snap = self._latest
        if snap is None:
            return None
        t0 = self.t_launch
        st = self.state
        with st.lock:
            marks = tuple({"name": m["name"], "t_s": m["t"] - t0, "data": m.get("data", {})} for m in st.marks)
            warnings = tuple({"t_s": w["t"] - t0, "category": w["category"], "message": w["message"],
                              "where": w["where"]} for w in st.warnings)
            errors = tuple({"task": e["task"], "message": e["message"], "traceback": e.get("traceback", "")}
                           for e in st.errors)
            exits = tuple({"pid": e["pid"], "exitcode": e["exitcode"], "t_s": e["t"] - t0} for e in st.exits)
            fork_threads = st.submitted_info.get("threads_at_first_submit")
        return RunRecord(
            snapshot=snap, interpreter=dict(self.interpreter), marks=marks, warnings=warnings, errors=errors,
            exits=exits, threads_at_first_submit=tuple(fork_threads) if fork_threads is not None else None,
            timeline=tuple(self.timeline.points), cpu_means=tuple(self._cpu_means.per_core()),
            tree_cpu_mean=self._cpu_means.tree(), peak_rss_bytes=self.cpu.peak_rss, peak_uss_bytes=self.cpu.peak_uss,
            output_bytes=self.output.bytes, output_tail=self.output.lines(), usage_error=self.usage_error,
            tick_errors=tuple(self.tick_errors))

    def run(self, timeout: Optional[float] = None) -> Snapshot:
        """start(), wait(), close(): the whole run, for scripts and tests."""
        self.start()
        try:
            self.wait(timeout)
        finally:
            self.close()
        snap = self._latest
        assert snap is not None
        return snap

    @property
    def usage_error(self) -> Optional[str]:
        fatal = self.state.fatal
        if fatal and fatal.get("kind") == "usage":
            return fatal.get("message")
        return None


def wait_dead(procs: List[psutil.Process], timeout: float) -> List[psutil.Process]:
    """Wait until every process has ended; those still running after ``timeout`` are returned.

    A killed pool worker whose parent (the runner) was killed with it is
    re-parented to init and stays a zombie until init reaps it, which some
    container inits do only every second or so: it has ended (nothing runs,
    nothing is held but its pid), so a zombie counts as ended here, where
    ``psutil.wait_procs`` would wait for the reaping."""
    deadline = time.monotonic() + timeout
    pending = list(procs)
    delay = 0.002
    while pending:
        still = []
        for p in pending:
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    still.append(p)
            except psutil.Error:
                pass
        pending = still
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(delay)
        delay = min(0.02, delay * 2)
    return pending


def _return_freed_memory() -> None:
    """Give the heap memory that finished runs freed back to the system.

    A run churns through telemetry, py-spy output and thread stacks in several
    threads; glibc keeps what they freed in its arenas, so a long session that
    restarts runs grew by ~0.5 MB a run without leaking a Python object (see
    benchmarks/soak.py).  Collect the last session's cycles (its threads and
    listeners), then ``malloc_trim`` (glibc; elsewhere nothing happens)."""
    gc.collect()
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        trim = getattr(libc, "malloc_trim", None)
        if trim is not None:
            trim(0)
    except (OSError, AttributeError, TypeError):
        pass
