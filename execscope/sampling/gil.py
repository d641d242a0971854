"""GIL held / wait / released / idle per thread, sampled with py-spy from outside.

py-spy's own views cannot show GIL waiting: a thread waiting for the GIL
sleeps on a condition variable, so py-spy calls it idle.  This sampler runs
two kinds of py-spy record per process, side by side, each in rounds (py-spy
writes what it recorded only when it stops, so it is stopped with SIGINT at
the end of each round and started again)::

    execscope process                                        runner / workers
    ┌───────────────────────────────────────┐  record --nonblocking --gil
    │ GilSampler thread                     │──(reads memory, no pause)────►┌─────────┐
    │   "gil" rounds    0.5 s at GIL_HZ     │                               │ each    │
    │   "stacks" rounds 2 s at STACKS_HZ    │──record --native --idle──────►│ process │
    │   parse, sum, build the view          │  (pauses it at each sample)   └─────────┘
    │ current(): the last computed view     │
    └───────────────────────────────────────┘

- **held** is py-spy's own GIL-holder flag: ``--gil`` records only the thread
  that holds the GIL, read with ``--nonblocking`` (the target never stops).
  Stacks cannot tell it: a thread inside NumPy or hashlib may or may not hold
  the GIL.  Over the last ``WINDOW_S``, refreshed every 0.5 s.
- **wait** comes from native stacks: libc's ``pthread_cond_timedwait`` (or the
  GIL mutex) directly under a Python frame is the hidden ``take_gil``
  (``pyspy.classify`` documents the signatures).  Measured here with 2/4/8
  pure-Python threads on 3.9-3.13: 0.48-0.52 / 0.67-0.80 / 0.81-0.96 of the
  samples, against the theoretical 1/2, 3/4, 7/8.  Reading the futex each
  thread sleeps on from ``/proc/PID/task/TID/syscall`` costs no pause, but
  saw only 0.27 / 0.58 / 0.73: a waiter woken for its turn is runnable
  (state R) while it still waits, and on a busy machine that is often.
- **idle** (a pool worker waiting for a task) from the Python frames of the
  same stacks; **released** is the rest (sleep, I/O, locks, C code that
  dropped the GIL).

What it costs (``benchmarks/gil_overhead.py``, 2-CPU machine, throughput
with / without): the ``--gil`` rounds about 1% per process; native stacks
pause the target at every sample and make py-spy read every library's
symbols at every start (~30 ms of CPU), which in 0.5 s rounds at 25 Hz cost
9%.  Hence the stacks rounds are longer and slower (``STACKS_ROUND_S``,
``STACKS_HZ``), continuous only while two or more of the run's thread workers
run in the process and its GIL is busy (held ``BUSY_GIL`` of the time or
more: otherwise nobody can wait long for it, and one round every
``QUIET_STACKS_EVERY_S`` keeps the figures fresh; a serial run or a process
pool's parent is not paused ten times a second), and taken only in
processes with more than one Python thread: a process-pool worker alone in
its process cannot wait for its GIL, so it gets ``--gil`` rounds only and its
idle share is the runner's own worker state.  With these defaults, 8 rotated
repetitions of 4 s runs against the probe-only run (load average ~1.8 on 2
CPUs): cpu thread x4 1.05, serial 1.00, process x2 1.04, hash thread x2 1.02
(other sessions of the same configuration: 1.03-1.05 for thread x4, the case
that keeps native stacks running); py-spy used 2-3% of one core.

On a machine the run saturates (its usable CPUs busy 85% of the time or
more, ``saturation.py``) py-spy's CPU is taken from the run itself: a process
pool as wide as the machine spent ~0.05 CPU-s a second on py-spy (a start,
~15 ms of symbol reading, every 0.5 s round, and ~0.1 ms a sample at
200 Hz).  There a process with a single Python thread (a process-pool
worker: its held share is all there is to show, nobody in it waits for its
GIL) gets GIL-holder rounds ``GIL_LIGHT_ROUND_S`` long at ``GIL_LIGHT_HZ``:
half the starts, a quarter of the reads (~0.02 CPU-s a second), 50 samples a
round, two rounds a window, its first round excepted (every process has
figures after one turn, as elsewhere); its figures refresh every second
instead of every half second, and the reason says so.  Processes whose
threads can wait for the GIL keep the full rate: their figures are the
point of sampling.

Every process has its own GIL, so each is sampled on its own: the runner and
every process-pool worker the runner reports: one process at a time per two
usable CPUs (at least one), the least recently sampled first, in turns of a
round, so that py-spy's own CPU stays a small share of the machine however
many workers there are (on 2 CPUs, two at a time cost a process pool 3%, one
at a time 1%).  On 3.12+ py-spy reads the main
interpreter only; a subinterpreter with its own GIL is not shown (the reason
says so).  A free-threaded build with the GIL disabled is ``disabled``;
py-spy 0.4 cannot read free-threaded builds at all, which the reason says.

The session never waits on py-spy: ``current()`` returns the last computed
view, except once, at the end of the run, when it lets the rounds in progress
end (at most ``FINAL_WAIT_S``) so that the report covers the whole run.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Optional, Tuple

import psutil

from ..model import GilThread, GilView
from ..signals import signal_name
from . import ptrace, pyspy
from .gilstats import Accumulator, ProcChunk, margin_note
from .saturation import own_cores, saturated
from .background import STOP_GRACE_S, BackgroundSampler
from .targets import SamplerTargets

GIL_HZ = 200
GIL_ROUND_S = 0.5
GIL_LIGHT_HZ = 50  # the GIL-holder rounds while the machine has no CPU to spare
GIL_LIGHT_ROUND_S = 1.0
STACKS_HZ = 10
STACKS_ROUND_S = 2.0
BUSY_GIL = 0.3  # the GIL held this share of the time or more: waiting is possible
QUIET_STACKS_EVERY_S = 8.0  # native stacks while the GIL is mostly free
WINDOW_S = 1.0
INIT_GRACE_S = 3.0  # for py-spy to start sampling a big process
EARLY_RETRIES = 4
KILLED_RETRIES = 20  # py-spy runs killed by someone else before giving up on a process
HELLO_WAIT_S = 1.0
OWN_THREADS = "execscope-"  # execscope's own threads in a run (the probe, an injected agent): not shown
STALE_S = 5.0
STATE_EVERY_S = 0.1


@dataclass
class _Target:
    pid: int
    role: str  # runner | main (a program run, an attached process) | worker
    stacks: bool  # take native stacks: more than one Python thread
    failures: int = 0
    killed: int = 0  # py-spy runs killed by someone else
    dead: bool = False
    problem: str = ""  # why it cannot be sampled (permanent)
    jobs: Dict[str, "_Job"] = field(default_factory=dict)  # live py-spy per kind
    not_before: float = 0.0  # back-off after a failure
    last_sampled: float = 0.0
    held: Deque[ProcChunk] = field(default_factory=lambda: deque(maxlen=max(1, round(WINDOW_S / GIL_ROUND_S))))
    stack_chunks: Deque[ProcChunk] = field(default_factory=lambda: deque(maxlen=1))

    @property
    def who(self) -> str:
        if self.role == "runner":
            return "the runner"
        return ("process %d" if self.role == "main" else "worker %d") % self.pid


@dataclass
class _Job:
    target: _Target
    kind: str  # stacks | gil
    rate: int
    proc: subprocess.Popen
    path: str
    t_launch: float
    t_end: float  # when its round is over
    t_sampling: Optional[float] = None
    t_stop: Optional[float] = None  # SIGINT sent
    output: bytearray = field(default_factory=bytearray)
    open: bool = True
    cpu_s: float = 0.0  # py-spy's own CPU time, read just before it is stopped
    killed: bool = False  # SIGKILLed by us (it ignored SIGINT)
    states: List[str] = field(default_factory=list)  # the runner's state for this worker

    @property
    def killed_by_others(self) -> bool:
        """Ended by a signal we did not send (we send SIGINT, and SIGKILL once
        it ignores that): an OOM killer, a user."""
        code = self.proc.returncode
        return code is not None and code < 0 and code != -signal.SIGINT and not self.killed


class StaticGil:
    """A sampler that has only one thing to say (py-spy missing, GIL disabled)."""

    def __init__(self, view: GilView) -> None:
        self.view = view

    def current(self) -> GilView:
        return self.view

    def stop(self) -> None:
        pass


class GilSampler(BackgroundSampler):
    """py-spy on the run's processes; ``current()`` is the latest GilView.

    It sees the run only through ``targets`` (sampling/targets.py)."""

    def __init__(self, targets: SamplerTargets, pyspy_path: str, *, gil_hz: int = GIL_HZ,
                 gil_round_s: float = GIL_ROUND_S, stacks_hz: int = STACKS_HZ,
                 stacks_round_s: float = STACKS_ROUND_S, window_s: float = WINDOW_S,
                 max_processes: Optional[int] = None) -> None:
        super().__init__(targets, "waiting for the first py-spy samples")
        self.pyspy = pyspy_path
        self.version = pyspy.pyspy_version(pyspy_path) or "?"
        self.rates = {"gil": gil_hz, "stacks": stacks_hz}
        self.rounds_s = {"gil": gil_round_s, "stacks": stacks_round_s}
        self.window_s = window_s
        self.max_processes = max_processes
        # the GIL-holder rounds on a saturated machine (see _schedule)
        self.light = {"hz": GIL_LIGHT_HZ, "round_s": GIL_LIGHT_ROUND_S} if gil_hz == GIL_HZ else {}
        self.light_rounds = 0
        self._saturated_now = False  # the machine's state at the last GIL-holder round's start
        self.targets: Dict[int, _Target] = {}
        self.total = Accumulator(skip_prefixes=(OWN_THREADS,))
        self.cpu_s = 0.0  # CPU seconds py-spy used (what sampling costs the machine)
        self._serial = 0
        self._live: List[_Job] = []
        self._closing = False
        self._note = ""  # interpreter caveat for the reason
        self._subinterpreters = False  # the run has InterpreterPoolExecutor workers
        self._free_threaded = False
        self._problems: List[str] = []
        self._tmp = tempfile.mkdtemp(prefix="execscope-gil-")

    THREAD_NAME = "execscope-gil"

    def _cleanup(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

    # -- the sampling thread ---------------------------------------------------------

    def _sample(self) -> None:
        if self._wait_for_runner():
            self._loop()

    def _main_pid(self) -> Optional[int]:
        """The runner; in a program run or an attached process, the program's process."""
        return self.run.main_pid()

    def _wait_for_runner(self) -> bool:
        """Until the runner has said hello (its interpreter is up).  A program
        (``run -- prog``) or an attached process may never say it: after
        HELLO_WAIT_S the interpreter facts the session probed will do."""
        view = self.run
        give_up = time.monotonic() + HELLO_WAIT_S
        while not self._flush.is_set():
            hello = view.hello()
            interp = hello.get("interpreter")
            if interp or (not view.waits_for_hello and (hello or time.monotonic() >= give_up)):
                return self._check_interpreter(interp or _probed(view.interpreter))
            if self._runner_gone():
                return False
            self._flush.wait(0.05)
        return False

    def _check_interpreter(self, interp: Dict[str, Any]) -> bool:
        if interp.get("free_threaded_build") and not interp.get("gil_enabled", True):
            self._set_fixed(GilView(source="disabled", reason=DISABLED_REASON))
            return False
        version = str(interp.get("version") or "0.0").split(".")
        if tuple(int(p) for p in version[:2] if p.isdigit()) >= (3, 12):
            self._note = "main interpreter only (a subinterpreter with its own GIL is not sampled)"
        self._free_threaded = bool(interp.get("free_threaded_build"))
        pid = self._main_pid()
        if pid is None:
            return False
        self.targets[pid] = _Target(pid=pid, role=self.run.main_role, stacks=True)
        return True

    def _set_fixed(self, view: GilView) -> None:
        with self._lock:
            self._view = view
            self._final = view

    def _runner_gone(self) -> bool:
        return self.run.main_gone()

    def _loop(self) -> None:
        next_state = 0.0
        with selectors.DefaultSelector() as sel:
            while True:
                now = time.monotonic()
                flushing = self._flush.is_set()
                if not flushing:
                    for job in self._launch_due(now):
                        sel.register(job.proc.stdout, selectors.EVENT_READ, job)
                if now >= next_state:
                    next_state = now + STATE_EVERY_S
                    self._note_states()
                changed = False
                for job in list(self._live):
                    if job.t_stop is None and job.proc.poll() is not None:
                        job.t_stop = now  # ended by itself: its target exited, or it failed
                    elif job.t_stop is None and (flushing or self._round_over(job, now)):
                        self._interrupt(job)
                    if job.t_stop is not None and self._finished(job, sel):
                        changed = True
                if changed:
                    view = self._window_view()
                    with self._lock:
                        self._view = view
                if not self._live and (flushing or self._runner_gone() or not self._usable()):
                    return
                timeout = min(STATE_EVERY_S, max(0.0, next_state - time.monotonic()))
                if changed:
                    timeout = 0.0  # a round just ended: the next turn starts at once
                if sel.get_map():
                    for key, _ in sel.select(timeout):
                        if not self._read(key.data, time.monotonic()):
                            sel.unregister(key.fileobj)
                else:
                    self._flush.wait(timeout)

    def _max_processes(self) -> int:
        if self.max_processes:
            return self.max_processes
        machine = self.run.machine()
        return max(1, int(machine.get("usable_cpus") or os.cpu_count() or 2) // 2)

    def _usable(self) -> List[_Target]:
        return [t for t in self.targets.values() if not t.dead and not t.problem]

    def _launch_due(self, now: float) -> List[_Job]:
        for worker in self.run.worker_processes():
            pid = worker.pid
            if pid not in self.targets:
                self.targets[pid] = _Target(pid=pid, role="worker", stacks=False)
        usable = sorted(self._usable(), key=lambda t: (t.last_sampled, t.role == "worker", t.pid))
        busy = sum(1 for t in usable if t.jobs)
        turns = self._max_processes()
        waiting = any(not t.jobs and now >= t.not_before for t in usable)
        running = self._running_thread_workers()
        launched = []
        for target in usable:
            if now < target.not_before:
                continue
            if not target.jobs:
                if busy >= turns:
                    continue
                busy += 1
            elif waiting and busy >= turns:
                continue  # others wait for a turn: this one's ends with its last round
            for kind in ("gil", "stacks"):
                wanted = self.rates[kind] > 0 and (kind == "gil" or self._stacks_due(target, now, running))
                if wanted and kind not in target.jobs:
                    job = self._launch(target, kind, now)
                    if job is not None:
                        launched.append(job)
        return launched

    def _running_thread_workers(self) -> Dict[int, int]:
        """pid -> how many of the run's thread workers in it are running."""
        out: Dict[int, int] = {}
        for w in self.run.workers():
            if not w.is_process and w.state == "running":
                out[w.pid] = out.get(w.pid, 0) + 1
        return out

    def _stacks_due(self, target: _Target, now: float, running: Dict[int, int]) -> bool:
        """Native stacks where threads can wait for the GIL: all the time while
        two or more of the run's thread workers run in the process and its GIL
        is busy, otherwise one round every QUIET_STACKS_EVERY_S.  (A process
        pool's parent or a lone worker thread is not paused ten times a
        second for a wait nobody of the run can have.)"""
        if not target.stacks:
            return False
        if not target.stack_chunks or now >= target.stack_chunks[-1].t1 + QUIET_STACKS_EVERY_S:
            return True
        if running.get(target.pid, 0) < 2:
            return False
        held = [c for c in target.held if c.t1 >= now - 2 * self.window_s]
        intervals = sum(c.held_intervals for c in held)
        busy = sum(sum((c.held or {}).values()) for c in held) / intervals if intervals else 1.0
        return busy >= BUSY_GIL

    def _saturated(self) -> bool:
        usable = int(self.run.machine().get("usable_cpus") or os.cpu_count() or 1)
        self._saturated_now = saturated(self.run.cpu_per_core(), usable, own_cores())
        return self._saturated_now

    def _schedule(self, target: _Target, kind: str) -> Tuple[int, float]:
        """(rate, round length) of the next round.  GIL-holder rounds cost py-spy
        a start (~15 ms of CPU: it reads the interpreter's symbols) and ~0.1 ms
        a sample, which a saturated machine takes from the run: there they are
        longer and slower (``light``)."""
        if kind == "stacks":
            # a first round as short as a GIL-holder round: wait figures within a second
            return self.rates[kind], self.rounds_s["gil"] if not target.stack_chunks else self.rounds_s[kind]
        # only a process with one Python thread (a process-pool worker): nobody in it can
        # wait for its GIL, so its held share is all there is to show; and after its first
        # round, so that every process has figures after one turn
        if self.light and not target.stacks and target.held and self._saturated():
            return self.light["hz"], self.light["round_s"]
        return self.rates[kind], self.rounds_s[kind]

    def _launch(self, target: _Target, kind: str, now: float) -> Optional[_Job]:
        self._serial += 1
        path = os.path.join(self._tmp, "%d-%s-%d.txt" % (target.pid, kind, self._serial))
        rate, length = self._schedule(target, kind)
        cmd = pyspy.record_command(self.pyspy, target.pid, rate, path, kind)
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
            if kind == "gil" and rate != self.rates["gil"]:
                self.light_rounds += 1
            job = _Job(target=target, kind=kind, rate=rate, proc=proc, path=path, t_launch=now,
                       t_end=now + length)
            self._live.append(job)
        target.jobs[kind] = job
        target.last_sampled = now
        os.set_blocking(proc.stdout.fileno(), False)
        return job

    def _note_states(self) -> None:
        """The runner's state of each process worker (for its idle share)."""
        states = {w.pid: w.state for w in self.run.worker_processes()}
        for job in self._live:
            if job.kind == "gil" and job.t_stop is None and job.target.pid in states:
                job.states.append(states[job.target.pid])

    @staticmethod
    def _round_over(job: _Job, now: float) -> bool:
        if now < job.t_end:
            return False
        # A py-spy still reading a big process's binaries would die of SIGINT
        # before installing its handler, writing nothing: let it start.
        return job.t_sampling is not None or now - job.t_launch >= INIT_GRACE_S

    def _interrupt(self, job: _Job) -> None:
        job.t_stop = time.monotonic()
        if job.proc.poll() is not None:
            return
        try:
            job.cpu_s = sum(psutil.Process(job.proc.pid).cpu_times()[:2])
        except psutil.Error:
            pass
        try:
            job.proc.send_signal(signal.SIGINT)  # py-spy writes what it has, then exits
        except OSError:
            pass

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

    def _finished(self, job: _Job, sel: selectors.BaseSelector) -> bool:
        """Collect a stopped job once it has exited (killed after STOP_GRACE_S)."""
        if job.proc.poll() is None:
            if time.monotonic() - (job.t_stop or 0.0) < STOP_GRACE_S:
                return False
            job.killed = True
            job.proc.kill()
            job.proc.wait()
        while job.open and self._read(job, time.monotonic()):
            pass
        try:
            sel.unregister(job.proc.stdout)
        except (KeyError, ValueError):
            pass
        job.proc.stdout.close()
        with self._lock:
            if job in self._live:
                self._live.remove(job)
        target = job.target
        target.jobs.pop(job.kind, None)
        self.cpu_s += job.cpu_s
        chunk = self._absorb(job)
        if chunk is not None:
            self.total.add(chunk)
            if job.kind == "gil":
                target.held.append(chunk)
                if target.role == "worker" and not target.stacks and chunk.python_threads() > 1:
                    target.stacks = True  # threads inside a worker can wait for its GIL
            else:
                target.stack_chunks.append(chunk)
        return True

    def _absorb(self, job: _Job) -> Optional[ProcChunk]:
        try:
            with open(job.path) as fh:
                text = fh.read()
            os.unlink(job.path)
        except OSError:
            text = None
        if text is None or job.proc.returncode not in (0, -signal.SIGINT):
            if text is None or job.killed_by_others:
                self._failed(job)
            return None
        target = job.target
        target.failures = 0
        t0 = job.t_sampling or job.t_launch
        t1 = job.t_stop or time.monotonic()
        chunk = ProcChunk(pid=target.pid, t0=t0, t1=t1)
        if job.kind == "stacks":
            chunk.stacks = pyspy.parse_raw(text, classify_stacks=True)
            chunk.names = {tid: c.name for tid, c in chunk.stacks.items()}
        else:
            counts = pyspy.parse_raw(text, classify_stacks=False)
            chunk.held = {tid: c.total for tid, c in counts.items()}
            chunk.names = {tid: c.name for tid, c in counts.items()}
            # py-spy samples at exponentially distributed times: the number
            # of intervals is known on average only (see gilstats); and one
            # thread at most holds the GIL at each, so there were at least as
            # many intervals as holders seen (the shares never add up past 1).
            chunk.held_intervals = max(float(sum(chunk.held.values())), (t1 - t0) * job.rate)
            if job.states:
                chunk.idle_share = sum(1 for s in job.states if s == "idle") / len(job.states)
        return chunk

    def _failed(self, job: _Job) -> None:
        target = job.target
        output = job.output.decode("utf-8", "replace")
        target.not_before = time.monotonic() + self.rounds_s["gil"]
        if job.killed_by_others:  # sample again
            target.killed += 1
            name = signal_name(-job.proc.returncode)
            if target.killed > KILLED_RETRIES:
                target.problem = "py-spy was killed (%s) %d times while sampling %s: gave up" % (
                    name, target.killed, target.who)
            elif not any(p.startswith("py-spy was killed") for p in self._problems):
                self._problems.append("py-spy was killed (%s) while sampling %s, and restarted" % (name, target.who))
            return
        if job.t_sampling is None and job.proc.returncode in (-signal.SIGKILL, -signal.SIGINT):
            # stopped while still attaching: the end of the run, or a slow start
            target.failures += 1
            if target.failures > EARLY_RETRIES and not self._flush.is_set():
                target.problem = "py-spy did not start sampling %s within %.0f s" % (target.who, INIT_GRACE_S)
            return
        if not psutil.pid_exists(target.pid):
            target.dead = True
            return
        kind = pyspy.failure_kind(output)
        if kind == pyspy.GONE:
            target.dead = True
        elif kind == pyspy.PERMISSION:
            target.problem = "py-spy may not attach to %s: %s" % (target.who, ptrace.denial_advice(_uid(target.pid)))
        elif kind == pyspy.UNSUPPORTED or (kind == pyspy.EARLY and target.failures >= EARLY_RETRIES):
            target.problem = "py-spy %s cannot read %s's interpreter (%s)%s" % (
                self.version, target.who, pyspy.first_error_line(output),
                ": free-threaded builds are not supported, the probe still reports"
                if self._free_threaded else "")
        elif job.kind == "stacks" and target.failures >= 2:
            target.stacks = False  # native unwinding fails here: keep the GIL-holder rounds
            self._problems.append("native stacks of %s failed (%s): no GIL-wait figures"
                                  % (target.who, pyspy.first_error_line(output)))
        elif kind == pyspy.ERROR and target.failures >= 2:
            target.problem = "py-spy failed on %s: %s" % (target.who, pyspy.first_error_line(output))
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
        return sorted(self.targets, key=lambda pid: (self.targets[pid].role == "worker", pid))

    def _thread_names(self) -> Dict[Any, int]:
        """(runner pid, thread name) -> native id, from the thread workers' rows."""
        return {(w.pid, w.label): w.tid for w in self.run.workers() if not w.is_process and w.tid}

    def _stale_s(self) -> float:
        """A process not sampled for this long is gone: two turns of every
        process at the longest rounds taken (many workers on few CPUs wait
        long for their turn)."""
        usable = len(self._usable()) or 1
        longest = max(self.rounds_s["gil"], self.light["round_s"] if self.light_rounds else 0.0)
        turns = -(-usable // self._max_processes())
        return max(STALE_S, 2 * longest * turns)

    def _window_view(self) -> GilView:
        window = Accumulator(skip_prefixes=(OWN_THREADS,))
        newest = max((c.t1 for t in self.targets.values() for c in t.held), default=0.0)
        stale_s = self._stale_s()
        held_span = stacks_span = 0.0
        for target in self.targets.values():
            if not target.held or target.held[-1].t1 < newest - stale_s:
                continue  # a worker that is gone
            if target.stacks and not target.stack_chunks and self.rates["stacks"] > 0:
                continue  # its threads can wait for the GIL: no figures before the stacks say how much
            # its latest window_s of holder rounds (the deque keeps that
            # many): taken in turns, a worker's rounds need not be adjacent
            held = [c for c in target.held if c.t1 >= newest - stale_s]
            for chunk in held + list(target.stack_chunks):
                window.add(chunk)
            held_span = max(held_span, sum(c.t1 - c.t0 for c in held))
            stacks_span = max([stacks_span] + [c.t1 - c.t0 for c in target.stack_chunks])
        threads = self._main_interpreter_only(window.threads(self._pid_order(), self._thread_names()))
        if not threads:
            return self._no_data_view()
        reason = "py-spy %s, GIL holder over %.1f s per process" % (self.version, held_span)
        if stacks_span:
            reason += ", native stacks over %.1f s" % stacks_span
        if self.light_rounds and self._saturated_now:
            reason += ", single-thread workers at %d Hz in %g s rounds (no CPU to spare)" % (
                self.light["hz"], self.light["round_s"])
        reason = ", ".join(filter(None, (reason, margin_note(threads))))
        return GilView(source="py-spy", reason=self._with_notes(reason), threads=threads,
                       window_s=round(held_span, 3))

    def _whole_run_view(self, problem: str = "") -> GilView:
        if problem:
            self._problems.append(problem)
        with self._lock:
            fixed = self._final
        if fixed is not None:
            return fixed
        threads = self._main_interpreter_only(self.total.threads(self._pid_order(), self._thread_names()))
        if not threads:
            return self._no_data_view(final=True)
        span = max(self.total.span_s.values(), default=0.0)
        reason = "py-spy %s, whole run: %d samples over %.1f s" % (self.version, self.total.samples, span)
        reason = ", ".join(filter(None, (reason, margin_note(threads))))
        return GilView(source="py-spy", reason=self._with_notes(reason), threads=threads,
                       window_s=round(span, 3))

    def _no_data_view(self, final: bool = False) -> GilView:
        problems = [t.problem for t in self.targets.values() if t.problem] + self._problems
        if problems:
            return GilView(source="unavailable", reason=problems[0])
        if final:
            return GilView(source="unavailable", reason="the run ended before py-spy had samples")
        return GilView(source="unavailable", reason="waiting for the first py-spy samples")

    def _main_interpreter_only(self, threads: Tuple[GilThread, ...]) -> Tuple[GilThread, ...]:
        """Without the InterpreterPoolExecutor workers: each runs its tasks in a
        subinterpreter with its own GIL, which py-spy cannot read; what it sees
        of the thread (parked in the main interpreter) is no figure of it."""
        inside = {w.tid for w in self.run.workers() if w.in_subinterpreter}
        self._subinterpreters = bool(inside)
        if inside:
            inside.add(0)  # a subinterpreter's thread state, as py-spy's GIL-holder rounds name it
        return tuple(t for t in threads if t.tid not in inside)

    def _with_notes(self, reason: str) -> str:
        notes = [SUBINTERPRETERS_REASON if self._subinterpreters else self._note] if self._note else []
        notes += [t.problem for t in self.targets.values() if t.problem][:1] + self._problems[:1]
        return "; ".join([reason] + notes)


SUBINTERPRETERS_REASON = ("no GIL figures for the interpreter-pool workers: each runs its tasks in a "
                          "subinterpreter with its own GIL, and py-spy reads only the main interpreter "
                          "(CPython 3.15+'s own flags read every interpreter)")
DISABLED_REASON = "free-threaded build with the GIL disabled: there is no GIL to hold or wait for"


def _probed(info: Dict[str, Any]) -> Dict[str, Any]:
    """``interpreters.probe`` facts in the shape of the runner's hello."""
    version = info.get("version") or ()
    return {"version": ".".join(map(str, version)) if isinstance(version, (list, tuple)) else str(version),
            "gil_enabled": info.get("gil_enabled", True),
            "free_threaded_build": info.get("free_threaded_build", False)}


def _uid(pid: int) -> Optional[int]:
    try:
        return psutil.Process(pid).uids().real
    except psutil.Error:
        return None


def gil_method(interp: Dict[str, Any]) -> str:
    """How a run under this interpreter (``interpreters.probe`` facts) gets its
    GIL figures: ``flags`` (3.15+: the interpreter's own thread-state flags),
    ``py-spy`` (older ones) or ``disabled`` (free-threaded, GIL off)."""
    from .gilflags import has_flags

    if interp.get("free_threaded_build") and not interp.get("gil_enabled", True):
        return "disabled"
    return "flags" if has_flags(interp.get("version") or ()) else "py-spy"


def make_sampler(targets: SamplerTargets) -> Any:
    """The GIL sampler of a run (see ``Session(gil_sampler_factory=...)``)."""
    interp = getattr(targets, "interpreter", {}) or {}
    method = gil_method(interp)
    if method == "disabled":
        return StaticGil(GilView(source="disabled", reason=DISABLED_REASON))
    if method == "flags" and interp.get("path"):
        from .gilflags import FlagsSampler

        return FlagsSampler(targets, interp["path"]).start()
    path, why = pyspy.find_pyspy()
    if path is None:
        return StaticGil(GilView(source="unavailable", reason=why))
    return GilSampler(targets, path).start()


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
