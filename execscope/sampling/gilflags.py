"""GIL held / wait per thread from CPython 3.15's own thread-state flags.

From 3.15 on every thread state says whether it holds its interpreter's GIL
or has asked for it, and ``_remote_debugging`` (shipped with the
interpreter) reads those bits from another process's memory without
stopping it.  ``gilflags_helper.py`` runs under the *target's* interpreter
(the module reads only its own version), one helper per sampled process,
and prints a JSON line of counts every ``ROUND_S``; this module turns them
into the same ``GilView`` the py-spy sampler gives::

    execscope                               target's python -I gilflags_helper.py PID
    ┌─────────────────────────────┐  JSON    ┌────────────────────────────┐ process_vm_readv
    │ FlagsSampler thread         │◄─────────│ RemoteUnwinder(all_threads)│──────────────► runner /
    │   counts -> ProcChunk       │  lines   │ HAS_GIL / GIL_REQUESTED    │ (no pause)     workers
    │   gilstats.Accumulator      │          └────────────────────────────┘
    └─────────────────────────────┘

- **held**: ``THREAD_STATUS_HAS_GIL``; **wait**: ``THREAD_STATUS_GIL_REQUESTED``
  without it.  These are the interpreter's own answers, not an estimate from
  stacks: on 3.15 they are the ground truth the py-spy estimate is checked
  against (``benchmarks/gil_accuracy.py``).
- **idle**: a pool worker waiting for its next task, from the Python frames
  of the same sample (``pyspy.waits_for_work``); **released**: the rest.
- Every interpreter of the process is read: a subinterpreter's thread (an
  ``InterpreterPoolExecutor`` worker) holds its own interpreter's GIL.
- A sample the target changed while it was read fails and is dropped (the
  helper counts them), never guessed.

It sees the run only through ``SamplerTargets`` (sampling/targets.py): the
main pid, the workers, whether the run is over.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Optional, Sequence

import psutil

from ..model import GilThread, GilView
from . import ptrace
from .gilstats import Accumulator, ProcChunk, margin_note
from .pyspy import HELD, IDLE, RELEASED, WAIT, StackCounts, waits_for_work
from .background import STOP_GRACE_S, BackgroundSampler
from .targets import SamplerTargets

HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gilflags_helper.py")
FLAGS_HZ = 100
ROUND_S = 0.5
WINDOW_S = 1.0
KILLED_RETRIES = 20
OWN_THREADS = "execscope-"
STALE_S = 5.0
SOURCE = "flags"


@dataclass
class _Helper:
    pid: int
    role: str  # main | worker
    proc: subprocess.Popen
    buffer: bytearray = field(default_factory=bytearray)
    interrupted: bool = False


@dataclass
class _Pid:
    role: str
    killed: int = 0
    problem: str = ""
    done: bool = False
    chunks: Deque[ProcChunk] = field(default_factory=lambda: deque(maxlen=max(1, round(WINDOW_S / ROUND_S))))


class FlagsSampler(BackgroundSampler):
    THREAD_NAME = "execscope-gilflags"
    DESCRIPTION = "GIL flags sampler"

    def __init__(self, targets: SamplerTargets, python: str, *, hz: int = FLAGS_HZ, round_s: float = ROUND_S) -> None:
        super().__init__(targets, "waiting for the first thread-state samples")
        self.python = python
        self.hz = hz
        self.round_s = round_s
        self.pids: Dict[int, _Pid] = {}
        self.helpers: Dict[int, _Helper] = {}
        self.total = Accumulator(skip_prefixes=(OWN_THREADS,))
        self.samples = 0
        self.errors = 0
        self.interpreters: Dict[int, int] = {}  # tid -> interpreter id, for threads outside the main one
        self._names: Dict[int, str] = {}
        self._closing = False

    # -- the sampling thread ---------------------------------------------------------

    def _sample(self) -> None:
        while not self._flush.is_set() and self.run.waits_for_hello and not self.run.hello():
            self._flush.wait(0.05)
        main = self.run.main_pid()
        if main is not None and not self._flush.is_set():
            self.pids[main] = _Pid(role="main")
            self._loop()

    def _loop(self) -> None:
        with selectors.DefaultSelector() as sel:
            while True:
                flushing = self._flush.is_set()
                if not flushing:
                    for worker in self.run.worker_processes():
                        self.pids.setdefault(worker.pid, _Pid(role="worker"))
                    for pid, entry in self.pids.items():
                        if pid not in self.helpers and not entry.done and not entry.problem:
                            helper = self._launch(pid, entry.role)
                            if helper is not None:
                                sel.register(helper.proc.stdout, selectors.EVENT_READ, helper)
                else:
                    for helper in self.helpers.values():
                        if not helper.interrupted:
                            helper.interrupted = True
                            _signal(helper.proc, signal.SIGINT)
                if not self.helpers:
                    return
                changed = False
                for key, _ in sel.select(0.1):
                    helper = key.data
                    if not self._read(helper):
                        sel.unregister(helper.proc.stdout)
                        self._ended(helper)
                    changed = True
                if changed:
                    view = self._window_view()
                    with self._lock:
                        self._view = view

    def _launch(self, pid: int, role: str) -> Optional[_Helper]:
        with self._lock:
            if self._closing:
                return None
            try:
                proc = subprocess.Popen([self.python, "-I", HELPER, str(pid), str(self.hz), str(self.round_s)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
            except OSError as exc:
                self.pids[pid].problem = "the GIL flags helper could not be started: %s" % exc
                return None
            helper = self.helpers[pid] = _Helper(pid=pid, role=role, proc=proc)
        os.set_blocking(proc.stdout.fileno(), False)
        return helper

    def _read(self, helper: _Helper) -> bool:
        try:
            data = os.read(helper.proc.stdout.fileno(), 65536)
        except BlockingIOError:
            return True
        except (OSError, ValueError):
            data = b""
        if not data:
            return False
        helper.buffer += data
        while b"\n" in helper.buffer:
            line, _, rest = bytes(helper.buffer).partition(b"\n")
            helper.buffer = bytearray(rest)
            self._line(helper, line)
        return True

    def _line(self, helper: _Helper, line: bytes) -> None:
        try:
            doc = json.loads(line)
        except ValueError:
            return  # a traceback line: the exit status says what happened
        entry = self.pids[helper.pid]
        if "error" in doc:
            kind, message = doc.get("error"), str(doc.get("message", ""))
            who = "the runner" if entry.role == "main" else "worker %d" % helper.pid
            if kind == "gone":
                entry.done = True
            elif kind == "permission":
                entry.problem = "may not read %s's thread states: %s" % (who, ptrace.denial_advice(_uid(helper.pid)))
            else:
                entry.problem = "cannot read %s's thread states: %s" % (who, message)
            return
        chunk = self._chunk(helper.pid, doc)
        if chunk is not None:
            entry.chunks.append(chunk)
            self.total.add(chunk)

    def _chunk(self, pid: int, doc: Dict[str, Any]) -> Optional[ProcChunk]:
        samples = int(doc.get("samples") or 0)
        self.samples += samples
        self.errors += int(doc.get("errors") or 0)
        if samples <= 0:
            return None
        self._names.update({w.tid: w.label for w in self.run.workers() if not w.is_process and w.tid})
        stacks: Dict[int, StackCounts] = {}
        held: Dict[int, int] = {}
        for interp, tid, state, frames, count in doc.get("threads", ()):
            if interp:
                self.interpreters[tid] = interp
            counts = stacks.get(tid)
            if counts is None:
                counts = stacks[tid] = StackCounts(name=self._name(pid, tid))
            if state == "held":
                counts.add(HELD, count)
                held[tid] = held.get(tid, 0) + count
            elif state == "wait":
                counts.add(WAIT, count)
            else:
                # outermost first, "function (file)", as pyspy.waits_for_work reads them
                counts.add(IDLE if waits_for_work(list(reversed(frames))) else RELEASED, count)
        return ProcChunk(pid=pid, t0=float(doc["t0"]), t1=float(doc["t1"]), stacks=stacks, held=held,
                         held_intervals=float(samples), names={t: c.name for t, c in stacks.items()})

    def _name(self, pid: int, tid: int) -> str:
        name = self._names.get(tid)
        if name:
            return name
        if tid == pid:
            return "MainThread"
        try:  # 3.14+ gives a thread's name to the OS (15 characters)
            with open("/proc/%d/task/%d/comm" % (pid, tid)) as fh:
                name = fh.read().strip()
        except OSError:
            name = ""
        interp = self.interpreters.get(tid)
        if interp:
            name = "%s (interpreter %d)" % (name or "thread %d" % tid, interp)
        return name

    def _ended(self, helper: _Helper) -> None:
        proc = helper.proc
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        with self._lock:
            self.helpers.pop(helper.pid, None)
        entry = self.pids[helper.pid]
        code = proc.returncode
        if helper.interrupted or entry.problem or entry.done:
            return
        if code is not None and code < 0:  # killed by someone else: sample again
            entry.killed += 1
            if entry.killed > KILLED_RETRIES:
                entry.problem = "the GIL flags helper was killed %d times: gave up" % entry.killed
            return
        if not psutil.pid_exists(helper.pid):
            entry.done = True
        elif code != 0:
            entry.problem = "the GIL flags helper failed (exit %s)" % code
        else:
            entry.done = True

    def _kill_all(self) -> None:
        with self._lock:
            self._closing = True
            helpers = list(self.helpers.values())
        for helper in helpers:
            try:
                if helper.proc.poll() is None:
                    helper.proc.kill()
                helper.proc.wait(timeout=5)
                helper.proc.stdout.close()
            except (OSError, subprocess.TimeoutExpired):
                pass

    # -- views -----------------------------------------------------------------------

    def _order(self) -> List[int]:
        return sorted(self.pids, key=lambda pid: (self.pids[pid].role == "worker", pid))

    def _window_view(self) -> GilView:
        window = Accumulator(skip_prefixes=(OWN_THREADS,))
        newest = max((c.t1 for p in self.pids.values() for c in p.chunks), default=0.0)
        span = 0.0
        for entry in self.pids.values():
            recent = [c for c in entry.chunks if c.t1 >= newest - STALE_S]
            for chunk in recent:
                window.add(chunk)
            span = max(span, sum(c.t1 - c.t0 for c in recent))
        threads = window.threads(self._order())
        if not threads:
            return self._no_data_view("waiting for the first thread-state samples")
        return GilView(source=SOURCE, reason=self._reason("over %.1f s" % span, threads), threads=threads,
                       window_s=round(span, 3))

    def _whole_run_view(self, problem: str = "") -> GilView:
        threads = self.total.threads(self._order())
        if not threads:
            return self._no_data_view(problem or "the run ended before the thread states were read")
        span = max(self.total.span_s.values(), default=0.0)
        what = "whole run: %d samples over %.1f s" % (self.samples, span)
        return GilView(source=SOURCE, reason=self._reason(what, threads), threads=threads, window_s=round(span, 3))

    def _no_data_view(self, default: str) -> GilView:
        problems = [p.problem for p in self.pids.values() if p.problem]
        return GilView(source="unavailable", reason=problems[0] if problems else default)

    def _reason(self, what: str, threads: Sequence[GilThread]) -> str:
        tried = self.samples + self.errors
        text = "the interpreter's own thread-state flags (_remote_debugging, %d Hz), %s" % (self.hz, what)
        text = ", ".join(filter(None, (text, margin_note(threads))))
        if tried and self.errors:
            text += " (%.0f%% of reads caught the target mid-change and were dropped)" % (100.0 * self.errors / tried)
        problems = [p.problem for p in self.pids.values() if p.problem]
        return "; ".join([text] + problems[:1])


def _signal(proc: subprocess.Popen, sig: int) -> None:
    try:
        if proc.poll() is None:
            proc.send_signal(sig)
    except OSError:
        pass


def _uid(pid: int) -> Optional[int]:
    try:
        return psutil.Process(pid).uids().real
    except psutil.Error:
        return None


def has_flags(version: Any) -> bool:
    """Does an interpreter of this version (``"3.15.2"`` or ``[3, 15, 2]``) carry the GIL flags?"""
    parts = str(version).split(".") if isinstance(version, str) else list(version)
    try:
        return tuple(int(p) for p in parts[:2]) >= (3, 15)
    except ValueError:
        return False
