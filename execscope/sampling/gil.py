"""GIL held / wait / released / idle per thread, sampled with py-spy from outside.

py-spy's own views cannot show GIL waiting: a thread waiting for the GIL
sleeps on a condition variable, so py-spy calls it idle.  This sampler
combines two py-spy runs per process, side by side, in rounds of
``CHUNK_S`` (py-spy writes what it recorded only when it stops)::

    execscope process                                   runner / worker
    ┌──────────────────────────────────────┐
    │ GilSampler thread, every round:      │  record --native --idle   ┌─────────┐
    │   py-spy "stacks" ───────────────────┼──(pauses it, STACKS_HZ)──►│ runner  │
    │   py-spy "gil"   ────────────────────┼──(--nonblocking --gil)───►│ workers │
    │   SIGINT both, parse, sum            │                           └─────────┘
    │ current(): the last WINDOW_S         │
    └──────────────────────────────────────┘

- **wait** comes from the native stacks: libc's ``pthread_cond_timedwait``
  (or the GIL mutex) directly under a Python frame is the hidden
  ``take_gil`` (``pyspy.classify`` documents the signatures).  Measured here
  with 2/4/8 pure-Python threads on 3.9-3.13: 0.48-0.52 / 0.67-0.80 /
  0.81-0.96 of samples, against the theoretical 1/2, 3/4, 7/8.  Reading the
  futex a thread sleeps on from ``/proc/PID/task/TID/syscall`` costs nothing
  but saw only 0.27 / 0.58 / 0.73: a waiter woken for its turn is runnable
  (state R) while it still waits, and on a busy machine that is often.
- **held** is py-spy's own GIL-holder flag (``--gil``: only the holder is
  recorded), read with ``--nonblocking``: the target is not paused.  Stacks
  cannot tell it: a thread inside numpy or hashlib may or may not hold the GIL.
- **idle** (a pool worker waiting for a task) from the Python frames; for a
  process with a single Python thread (a process-pool worker) no stacks are
  taken at all, since nothing there can wait for the GIL: its idle share is
  the runner's own worker state.  **released** is the rest.

Native stacks pause the target at each sample (``--native`` cannot be
combined with ``--nonblocking``), so they are taken at a lower rate and only
where a GIL wait is possible.  ``benchmarks/gil_overhead.py`` measures the
slowdown; the rates below keep it within 5% on the 2-core machine this was
built on.

Every process has its own GIL, so each process is sampled on its own: the
runner, and every process-pool worker the runner reports (at most
``MAX_PROCESSES`` per round, in rotation).  On 3.12+ py-spy reads the main
interpreter only; a subinterpreter with its own GIL is not shown (the reason
says so).  A free-threaded build with the GIL disabled is reported as
``disabled``; py-spy 0.4 cannot read free-threaded builds at all.

The session never waits on py-spy: ``current()`` returns the last computed
view, except once, at the end of the run, when it lets the round in progress
finish (at most ``FINAL_WAIT_S``) so the report covers the whole run.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Optional

import psutil

from ..model import FINAL_STATUSES, GilView
from ..runner.gilprobe import PROBE_THREAD_NAME
from . import ptrace, pyspy
from .gilstats import Accumulator, ProcChunk

CHUNK_S = 0.5
WINDOW_S = 1.0
STACKS_HZ = 25
GIL_HZ = 100
MAX_PROCESSES = 6  # sampled per round; more workers are taken in rotation
FINAL_WAIT_S = 1.5
STOP_GRACE_S = 1.5
EARLY_RETRIES = 4
STALE_S = 5.0


@dataclass
class _Target:
    pid: int
    role: str  # runner | worker
    stacks: bool  # take native stacks (more than one Python thread)
    failures: int = 0
    dead: bool = False
    problem: str = ""  # why it cannot be sampled (permanent)
    recent: Deque[ProcChunk] = field(default_factory=lambda: deque(maxlen=2))


@dataclass
class _Job:
    target: _Target
    mode: str  # stacks | gil
    proc: subprocess.Popen
    path: str
    t_launch: float
    t_sampling: Optional[float] = None
    output: bytearray = field(default_factory=bytearray)
    open: bool = True


class StaticGil:
    """A sampler that has only one thing to say (py-spy missing, GIL disabled)."""

    def __init__(self, view: GilView) -> None:
        self.view = view

    def current(self) -> GilView:
        return self.view

    def stop(self) -> None:
        pass


class GilSampler:
    def __init__(self, session: Any, pyspy_path: str, *, chunk_s: float = CHUNK_S,
                 window_s: float = WINDOW_S, stacks_hz: int = STACKS_HZ, gil_hz: int = GIL_HZ,
                 max_processes: int = MAX_PROCESSES) -> None:
        self.session = session
        self.pyspy = pyspy_path
        self.version = pyspy.pyspy_version(pyspy_path) or "?"
        self.chunk_s = chunk_s
        self.window_s = window_s
        self.stacks_hz = stacks_hz
        self.gil_hz = gil_hz
        self.max_processes = max_processes
        self.targets: Dict[int, _Target] = {}
        self.total = Accumulator(skip_names=(PROBE_THREAD_NAME,))
        self.rounds = 0
        self._rotation = 0
        self._lock = threading.Lock()
        self._live: List[_Job] = []
        self._view = GilView(source="unavailable", reason="waiting for the first py-spy samples")
        self._final_view: Optional[GilView] = None
        self._final_ready = threading.Event()
        self._final_waited = False
        self._flush = threading.Event()
        self._stop = threading.Event()
        self._closing = False
        self._note = ""  # interpreter caveat for the reason
        self._free_threaded = False
        self._problems: List[str] = []
        self._tmp = tempfile.mkdtemp(prefix="execscope-gil-")
        self._thread: Optional[threading.Thread] = None

    # -- the session's side ----------------------------------------------------------

    def start(self) -> "GilSampler":
        self._thread = threading.Thread(target=self._run, name="execscope-gil", daemon=True)
        self._thread.start()
        return self

    def current(self) -> GilView:
        if not self._final_waited and getattr(self.session, "status", "") in FINAL_STATUSES:
            # The run is over: let the round in progress finish so the report
            # covers the whole run (the only time the session waits for us).
            self._final_waited = True
            self._flush.set()
            self._final_ready.wait(FINAL_WAIT_S)
        with self._lock:
            return self._final_view if self._final_view is not None else self._view

    def stop(self) -> None:
        self._stop.set()
        self._flush.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=STOP_GRACE_S + 3.0)
        self._kill_all()
        shutil.rmtree(self._tmp, ignore_errors=True)

    # -- the sampling thread ---------------------------------------------------------

    def _run(self) -> None:
        try:
            if self._wait_for_runner():
                while not self._flush.is_set():
                    jobs = self._launch_round()
                    if not jobs:
                        if self._runner_gone() or self._runner_failed():
                            break
                        self._flush.wait(self.chunk_s)
                        continue
                    self._finish_round(jobs, self._wait_round(jobs))
                    if self._runner_gone():
                        break
        except Exception as exc:  # the run goes on without GIL figures
            self._problems.append("the GIL sampler failed: %s" % exc)
        finally:
            self._kill_all()
            final = self._whole_run_view()
            with self._lock:
                self._final_view = self._view = final
            self._final_ready.set()

    def _wait_for_runner(self) -> bool:
        """Until the runner has said hello (its interpreter is up)."""
        while not self._flush.is_set():
            with self.session.state.lock:
                hello = dict(self.session.state.hello)
            if hello:
                return self._check_interpreter(hello.get("interpreter", {}))
            if self._runner_gone():
                return False
            self._flush.wait(0.05)
        return False

    def _check_interpreter(self, interp: Dict[str, Any]) -> bool:
        if interp.get("free_threaded_build") and not interp.get("gil_enabled", True):
            self._set_fixed(GilView(source="disabled", reason=DISABLED_REASON))
            return False
        version = tuple(int(p) for p in str(interp.get("version", "0.0")).split(".")[:2])
        if version >= (3, 12):
            self._note = "main interpreter only (a subinterpreter with its own GIL is not sampled)"
        self._free_threaded = bool(interp.get("free_threaded_build"))
        proc = self.session.proc
        self.targets[proc.pid] = _Target(pid=proc.pid, role="runner", stacks=True)
        return True

    def _set_fixed(self, view: GilView) -> None:
        with self._lock:
            self._view = view
            self._final_view = view

    def _runner_gone(self) -> bool:
        proc = self.session.proc
        return proc is None or proc.poll() is not None

    def _runner_failed(self) -> bool:
        proc = self.session.proc
        runner = self.targets.get(proc.pid) if proc is not None else None
        return runner is None or bool(runner.problem)

    def _worker_rows(self) -> List[list]:
        with self.session.state.lock:
            rows = list(self.session.state.tick.get("workers", ()))
        return [r for r in rows if str(r[0]).startswith("p:")]

    def _discover(self) -> None:
        for row in self._worker_rows():
            pid = int(row[2])
            if pid and pid not in self.targets:
                self.targets[pid] = _Target(pid=pid, role="worker", stacks=False)

    def _round_targets(self) -> List[_Target]:
        self._discover()
        usable = [t for t in self.targets.values() if not t.dead and not t.problem]
        runner = [t for t in usable if t.role == "runner"]
        workers = sorted((t for t in usable if t.role == "worker"), key=lambda t: t.pid)
        room = max(0, self.max_processes - len(runner))
        if len(workers) > room:
            start = self._rotation % len(workers)
            self._rotation += room
            workers = (workers[start:] + workers[:start])[:room]
        return runner + workers

    def _launch_round(self) -> List[_Job]:
        jobs = []
        self.rounds += 1
        for target in self._round_targets():
            modes = ("stacks", "gil") if target.stacks else ("gil",)
            for mode in modes:
                job = self._launch(target, mode)
                if job is not None:
                    jobs.append(job)
        return jobs

    def _launch(self, target: _Target, mode: str) -> Optional[_Job]:
        path = os.path.join(self._tmp, "%d-%s-%d.txt" % (target.pid, mode, self.rounds))
        rate = self.stacks_hz if mode == "stacks" else self.gil_hz
        cmd = pyspy.record_command(self.pyspy, target.pid, rate, path, mode)
        with self._lock:
            if self._closing:
                return None
            try:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        close_fds=True)
            except OSError as exc:
                target.problem = "py-spy could not be started: %s" % exc
                return None
            job = _Job(target=target, mode=mode, proc=proc, path=path, t_launch=time.monotonic())
            self._live.append(job)
        os.set_blocking(proc.stdout.fileno(), False)
        return job

    def _wait_round(self, jobs: List[_Job]) -> Dict[int, List[str]]:
        """Sleep through the round, noting when each py-spy starts sampling and
        what state the runner reports for each worker (idle or not)."""
        states: Dict[int, List[str]] = {}
        now = time.monotonic()
        until, next_state = now + self.chunk_s, now
        with selectors.DefaultSelector() as sel:
            for job in jobs:
                sel.register(job.proc.stdout, selectors.EVENT_READ, job)
            while not self._flush.is_set():
                now = time.monotonic()
                if now >= until:
                    break
                if now >= next_state:  # the runner's rows change at 10 Hz
                    next_state = now + 0.1
                    for row in self._worker_rows():
                        states.setdefault(int(row[2]), []).append(str(row[4]))
                if not sel.get_map():
                    self._flush.wait(min(next_state, until) - now)
                    continue
                for key, _ in sel.select(max(0.0, min(next_state, until) - now)):
                    if not self._read(key.data, time.monotonic()):
                        sel.unregister(key.fileobj)
        return states

    @staticmethod
    def _read(job: _Job, now: float) -> bool:
        """Take what py-spy has printed; False at end of output."""
        try:
            data = os.read(job.proc.stdout.fileno(), 65536)
        except BlockingIOError:
            return True  # nothing yet
        except (OSError, ValueError):
            data = b""
        if not data:
            job.open = False
            return False
        job.output += data
        if job.t_sampling is None and b"Sampling process" in job.output:
            job.t_sampling = now
        return True

    def _finish_round(self, jobs: List[_Job], states: Dict[int, List[str]]) -> None:
        t_stop = time.monotonic()
        for job in jobs:
            if job.proc.poll() is None:
                try:
                    job.proc.send_signal(signal.SIGINT)  # py-spy writes what it has
                except OSError:
                    pass
        deadline = t_stop + STOP_GRACE_S
        for job in jobs:
            self._reap(job, deadline)
        by_target: Dict[int, ProcChunk] = {}
        for job in jobs:
            target = job.target
            chunk = by_target.get(target.pid)
            if chunk is None:
                t0 = min(j.t_sampling or j.t_launch for j in jobs if j.target is target)
                chunk = by_target[target.pid] = ProcChunk(pid=target.pid, t0=t0, t1=t_stop)
            self._absorb(job, chunk, t_stop)
        for pid, chunk in by_target.items():
            if chunk.stacks is None and chunk.held is None:
                continue
            seen = states.get(pid)
            if seen:
                chunk.idle_share = sum(1 for s in seen if s == "idle") / len(seen)
            target = self.targets[pid]
            target.recent.append(chunk)
            self.total.add(chunk)
            if target.role == "worker" and not target.stacks and chunk.python_threads() > 1:
                target.stacks = True  # threads inside a worker: they can wait for its GIL
        view = self._window_view()
        with self._lock:
            self._view = view

    def _reap(self, job: _Job, deadline: float) -> None:
        while True:
            if job.open:
                self._read(job, time.monotonic())
            if job.proc.poll() is not None:
                break
            if time.monotonic() >= deadline:
                job.proc.kill()
                job.proc.wait()
                break
            time.sleep(0.01)
        if job.open:
            self._read(job, time.monotonic())
        job.proc.stdout.close()
        with self._lock:
            if job in self._live:
                self._live.remove(job)

    def _absorb(self, job: _Job, chunk: ProcChunk, t_stop: float) -> None:
        target = job.target
        try:
            with open(job.path) as fh:
                text = fh.read()
            os.unlink(job.path)
        except OSError:
            text = None
        if text is None or job.proc.returncode not in (0, -signal.SIGINT):
            if text is None:
                self._failed(job)
            return
        target.failures = 0
        if job.mode == "stacks":
            chunk.stacks = pyspy.parse_raw(text, classify_stacks=True)
            for tid, counts in chunk.stacks.items():
                chunk.names.setdefault(tid, counts.name)
        else:
            counts = pyspy.parse_raw(text, classify_stacks=False)
            chunk.held = {tid: c.total for tid, c in counts.items()}
            for tid, c in counts.items():
                chunk.names.setdefault(tid, c.name)
            began = job.t_sampling or (job.t_launch + 0.03)
            chunk.held_intervals = max(float(max(chunk.held.values(), default=0)),
                                       (t_stop - began) * self.gil_hz)

    def _failed(self, job: _Job) -> None:
        target = job.target
        output = job.output.decode("utf-8", "replace")
        if job.proc.returncode == -signal.SIGKILL or (job.proc.returncode == -signal.SIGINT
                                                      and not output.strip()):
            return  # stopped before it started sampling: nothing to learn
        if not psutil.pid_exists(target.pid):
            target.dead = True
            return
        kind = pyspy.failure_kind(output)
        who = "the runner" if target.role == "runner" else "worker %d" % target.pid
        if kind == pyspy.GONE:
            target.dead = True
        elif kind == pyspy.PERMISSION:
            target.problem = "py-spy may not attach to %s: %s" % (who, ptrace.denial_advice(_uid(target.pid)))
        elif kind == pyspy.UNSUPPORTED or (kind == pyspy.EARLY and target.failures >= EARLY_RETRIES):
            target.problem = "py-spy %s cannot read %s's interpreter (%s)%s" % (
                self.version, who, pyspy.first_error_line(output),
                ": free-threaded builds are not supported, the probe still reports"
                if self._free_threaded else "")
        elif job.mode == "stacks" and target.failures >= 2:
            target.stacks = False  # native unwinding fails here: keep the GIL-holder runs
            self._problems.append("native stacks of %s failed (%s): no GIL-wait figures"
                                  % (who, pyspy.first_error_line(output)))
        elif kind == pyspy.ERROR and target.failures >= 2:
            target.problem = "py-spy failed on %s: %s" % (who, pyspy.first_error_line(output))
        target.failures += 1

    def _kill_all(self) -> None:
        with self._lock:
            self._closing = True
            live = list(self._live)
            self._live = []
        for job in live:
            try:
                if job.proc.poll() is None:
                    job.proc.kill()
                job.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            try:
                job.proc.stdout.close()
            except OSError:
                pass

    # -- views -----------------------------------------------------------------------

    def _pid_order(self) -> List[int]:
        return sorted(self.targets, key=lambda pid: (self.targets[pid].role != "runner", pid))

    def _window_view(self) -> GilView:
        window = Accumulator(skip_names=(PROBE_THREAD_NAME,))
        newest = max((c.t1 for t in self.targets.values() for c in t.recent), default=0.0)
        span = 0.0
        for target in self.targets.values():
            chunks = [c for c in target.recent if c.t1 >= newest - STALE_S]
            for chunk in chunks:
                window.add(chunk)
            span = max(span, sum(c.t1 - c.t0 for c in chunks))
        threads = window.threads(self._pid_order())
        if not threads:
            return self._no_data_view()
        reason = "py-spy %s, native stacks %d Hz and GIL holder %d Hz, last %.1f s" % (
            self.version, self.stacks_hz, self.gil_hz, span)
        return GilView(source="py-spy", reason=self._with_notes(reason), threads=threads,
                       window_s=round(span, 3))

    def _whole_run_view(self) -> GilView:
        with self._lock:
            fixed = self._final_view
        if fixed is not None:
            return fixed
        threads = self.total.threads(self._pid_order())
        if not threads:
            return self._no_data_view(final=True)
        span = max(self.total.span_s.values(), default=0.0)
        reason = "py-spy %s, whole run: %d samples over %.1f s" % (self.version, self.total.samples, span)
        return GilView(source="py-spy", reason=self._with_notes(reason), threads=threads,
                       window_s=round(span, 3))

    def _no_data_view(self, final: bool = False) -> GilView:
        problems = [t.problem for t in self.targets.values() if t.problem] + self._problems
        if problems:
            return GilView(source="unavailable", reason=problems[0])
        if final:
            return GilView(source="unavailable", reason="the run ended before py-spy had samples")
        return GilView(source="unavailable", reason="waiting for the first py-spy samples")

    def _with_notes(self, reason: str) -> str:
        notes = [self._note] if self._note else []
        notes += [t.problem for t in self.targets.values() if t.problem][:1] + self._problems[:1]
        return "; ".join([reason] + notes)


DISABLED_REASON = "free-threaded build with the GIL disabled: there is no GIL to hold or wait for"


def _uid(pid: int) -> Optional[int]:
    try:
        return psutil.Process(pid).uids().real
    except psutil.Error:
        return None


def make_sampler(session: Any) -> Any:
    """The session's GIL sampler factory (see ``Session(gil_sampler_factory=...)``)."""
    interp = getattr(session, "interpreter", {}) or {}
    if interp.get("free_threaded_build") and not interp.get("gil_enabled", True):
        return StaticGil(GilView(source="disabled", reason=DISABLED_REASON))
    path, why = pyspy.find_pyspy()
    if path is None:
        return StaticGil(GilView(source="unavailable", reason=why))
    return GilSampler(session, path).start()


# -- doctor ---------------------------------------------------------------------------

_TEST_TARGET = r"""
import ctypes, os, sys, time
try:
    ctypes.CDLL(None).prctl(0x59616D61, ctypes.c_ulong(int(sys.argv[1])), 0, 0, 0)
except Exception:
    pass
sys.stdout.write("ready\n"); sys.stdout.flush()
time.sleep(20)
"""


def attach_check(pyspy_path: str, timeout: float = 10.0) -> str:
    """Sample a throwaway child the way a run is sampled; "" when it works."""
    import sys

    child = subprocess.Popen([sys.executable, "-c", _TEST_TARGET, str(os.getpid())],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        child.stdout.readline()
        out = subprocess.run([pyspy_path, "dump", "--native", "--pid", str(child.pid)],
                             capture_output=True, text=True, timeout=timeout)
        if out.returncode == 0:
            return ""
        text = out.stdout + out.stderr
        if pyspy.failure_kind(text) == pyspy.PERMISSION:
            return "permission denied: " + ptrace.denial_advice()
        return pyspy.first_error_line(text)
    except subprocess.TimeoutExpired:
        return "py-spy did not answer within %.0f s" % timeout
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def doctor_lines() -> List[str]:
    path, why = pyspy.find_pyspy()
    scope = ptrace.ptrace_scope()
    lines = ["ptrace scope  " + ptrace.scope_text(scope)]
    if path is None:
        lines.insert(0, "py-spy        not found: " + why)
        lines.append("gil sampling  off: the runner's probe still reports GIL wake-up lateness")
        return lines
    lines.insert(0, "py-spy        %s (%s)" % (pyspy.pyspy_version(path) or "unknown version", path))
    problem = attach_check(path)
    if problem:
        lines.append("gil sampling  cannot attach here: %s" % problem)
    else:
        lines.append("gil sampling  works: py-spy attached to a test process as it would to a run")
    return lines
