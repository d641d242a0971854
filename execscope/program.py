"""The program source: ``execscope run -- python prog.py ARGS`` (or ``python -m module``).

The run watches the user's own program instead of the runner, with
``execscope.inject`` loaded into every Python process of it through a
``sitecustomize`` in the run's private directory (first on ``PYTHONPATH``)::

    execscope process                               program's process group
    ┌──────────────────────────────────────────┐    ┌───────────────────────────┐
    │ ProgramSource                            │    │ python prog.py            │
    │  listener: run_dir/telemetry.sock ◄──────┼────┤  agent (first to boot)    │
    │  one reader per connected process ◄──────┼────┤  any child that creates   │
    │   └─► executors.merge_ticks ─► RunState  │    │  an executor: its agent   │
    │  stdout / stderr readers: tail, and      │◄───┤  stdout, stderr (pipes)   │
    │   copied through when headless           │    │                           │
    │  waiter: exit code ─► completed / failed │    └───────────────────────────┘
    │ Session: ticks, samplers, detectors per  │
    │  executor (executors.ExecutorAlerts)     │
    └──────────────────────────────────────────┘

The status is the program's: exit code 0 is ``completed``, anything else
``failed`` (the reason names the code or the signal); the session's own
verdicts (``timeout``, ``deadlock``, ``interrupted``) end it as for a
built-in workload, and ``close()`` kills the program's whole tree.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import replace
from typing import Any, Deque, Dict, List, Optional, Sequence, Tuple

from . import protocol
from .errors import UsageError
from .executors import BoundMeter, ExecutorAlerts, executor_view, fold_retired, merge_ticks
from .inject import ENV, SOCKET_NAME
from .interpreters import probe
from .model import ProgramView, RunConfig, Snapshot
from .signals import signal_name
from .source import SourceContext

INJECT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inject")
_INTERPRETER_NAME = re.compile(r"^(python|pypy)[0-9.]*[a-z]?$")
# Interpreter options that stop PYTHONPATH or sitecustomize from being used.
_DISABLING = {"I": "-I (isolated mode) ignores PYTHONPATH", "E": "-E ignores PYTHONPATH",
              "S": "-S skips the site module and so sitecustomize"}
_WITH_VALUE = "WX"  # options whose value follows (-W error, -Xdev)
OUTPUT_KEEP = 50  # lines of the program's output in each snapshot
END_DRAIN_S = 1.0  # after the program exits, how long its last telemetry may take to arrive
MAX_RETIRED = 64  # retired executors kept apart; beyond, those made at one line are folded


def describe(argv: Sequence[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)


def validate(config: RunConfig) -> Tuple[RunConfig, None, Dict[str, Any]]:
    """Check ``run -- ARGV`` before anything starts; UsageError with one line."""
    argv = list(config.argv)
    if not argv:
        raise UsageError("run --: give the program to run, e.g. execscope run -- python prog.py")
    exe = argv[0]
    if exe.endswith(".py"):
        raise UsageError("run -- %s: name the interpreter first: execscope run -- python %s"
                         % (exe, describe(argv)))
    path = exe if os.sep in exe else shutil.which(exe)
    if not path or not os.path.isfile(path):
        raise UsageError("run -- %s: no such program" % exe)
    if not _INTERPRETER_NAME.match(os.path.basename(path)):
        raise UsageError("run -- %s: not a Python interpreter; execscope instruments Python programs: "
                         "execscope run -- python prog.py ARGS (or python -m module)" % exe)
    _check_options(argv)
    if config.timeout is not None and not (0 < config.timeout <= 7 * 24 * 3600):
        raise UsageError("--timeout %s: must be a positive number of seconds" % config.timeout)
    if config.on_deadlock not in ("stop", "wait"):
        raise UsageError("--on-deadlock %s: choose stop or wait" % config.on_deadlock)
    try:
        info = probe(path)
    except UsageError as exc:
        raise UsageError(str(exc).replace("--python ", "run -- ", 1)) from None
    return config.with_(executor="program", start_method=None, workers=None, tasks=None,
                        duration=None, python=path, workload=describe(argv)), None, info


def _check_options(argv: List[str]) -> None:
    """Refuse interpreter options that defeat the injection, and a bare REPL."""
    args = argv[1:]
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "-" or not arg.startswith("-"):
            return  # the script (or stdin)
        if arg.startswith("--"):
            if arg == "--check-hash-based-pycs":
                i += 1
            i += 1
            continue
        letters = arg[1:]
        for j, letter in enumerate(letters):
            if letter in _DISABLING:
                raise UsageError("run -- %s: %s, so execscope cannot instrument the program; drop %s"
                                 % (describe(argv[:i + 2]), _DISABLING[letter], "-" + letter))
            if letter in "cm":
                return  # -c command / -m module: the rest is the program's
            if letter in _WITH_VALUE:
                if j == len(letters) - 1:
                    i += 1  # the value is the next argument
                break
        i += 1
    raise UsageError("run -- %s: give a script, -m module or -c command; an interactive interpreter "
                     "is not something execscope can watch" % describe(argv))


class ProgramSource:
    """A program's run (see source.py): launch, telemetry, end, per-executor views."""

    name = "program"
    ends_at_last_task = False  # the program's own end, not its last task

    def __init__(self, config: RunConfig, detectors: Sequence[Any], history_len: int) -> None:
        self.argv = tuple(config.argv)
        self.alerts = ExecutorAlerts(detectors, history_len)
        self.meter = BoundMeter()
        self.ctx: Optional[SourceContext] = None
        self.proc: Optional[subprocess.Popen] = None
        self.exit_code: Optional[int] = None
        self.instrumented = False
        self._lock = threading.Lock()
        self._ticks: Dict[int, Dict[str, Any]] = {}  # connection -> latest tick of that process
        self._retired: Dict[str, Dict[str, Any]] = {}  # executor id -> its last entry
        self._rates: Dict[str, Deque[Tuple[float, int]]] = {}
        self._exits: Dict[str, List[Tuple[int, int, float]]] = {}
        self._conn_ids = 0
        self._root_done = threading.Event()
        self._listener: Optional[socket.socket] = None
        self._conns: List[socket.socket] = []
        self._closing = threading.Event()

    # -- launch -------------------------------------------------------------------

    def launch(self, ctx: SourceContext) -> subprocess.Popen:
        self.ctx = ctx
        run_dir = ctx.run_dir
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = os.path.join(run_dir, SOCKET_NAME)
        listener.bind(path)
        os.chmod(path, 0o600)
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        env = ctx.python_env()
        py_dir = os.path.join(run_dir, "py")
        os.symlink(os.path.join(INJECT_DIR, "_site.py"), os.path.join(py_dir, "sitecustomize.py"))
        env[ENV] = run_dir
        passthrough = ctx.passthrough_output
        stdin = None if passthrough and not _isatty(sys.stdin) else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(list(self.argv), start_new_session=True, stdin=stdin,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=os.getcwd())
        except OSError as exc:
            listener.close()
            raise UsageError("run -- %s: cannot start it (%s)" % (describe(self.argv), exc.strerror or exc))
        self.proc = proc
        ctx.spawn(self._accept, "execscope-accept")
        ctx.spawn(self._copy_output, "execscope-stdout", proc.stdout, _target(sys.stdout, passthrough))
        ctx.spawn(self._copy_output, "execscope-stderr", proc.stderr, _target(sys.stderr, passthrough))
        ctx.spawn(self._wait, "execscope-waiter", proc)
        return proc

    def _accept(self) -> None:
        listener = self._listener
        while not self._closing.is_set() and listener is not None:
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self._lock:
                self._conn_ids += 1
                conn_id = self._conn_ids
                self._conns.append(conn)
            self.ctx.spawn(self._read, "execscope-program-%d" % conn_id, conn, conn_id)

    def _read(self, conn: socket.socket, conn_id: int) -> None:
        root = False
        try:
            with conn.makefile("rb", buffering=1 << 16) as stream:
                for line in stream:
                    try:
                        msg = protocol.decode(line)
                    except ValueError:
                        continue
                    if msg.get("k") == "hello":
                        root = bool(msg.get("root"))
                        self.ctx.remember(int(msg.get("pid", 0)))
                    self.apply(conn_id, msg)
        except (OSError, ValueError):
            pass
        finally:
            self.lost(conn_id)
            if root:
                self._root_done.set()

    def apply(self, conn_id: int, msg: Dict[str, Any]) -> None:
        """One message from one process of the program (the reader threads)."""
        state = self.ctx.state
        kind = msg.get("k")
        if kind == "tick":
            with self._lock:
                self._ticks[conn_id] = msg
                for entry in msg.get("executors", ()):
                    rates = self._rates.setdefault(entry["id"], deque(maxlen=64))
                    rates.append((msg["t"], int(entry.get("completed", 0)) + int(entry.get("failed", 0))))
                merged = self._merged()
            state.apply(merged)
        elif kind == "retired":
            entry = msg["executor"]
            with self._lock:
                self._retired[entry["id"]] = entry
                if len(self._retired) > MAX_RETIRED:
                    self._retired = {e["id"]: e for e in fold_retired(list(self._retired.values()), MAX_RETIRED)}
                tick = self._ticks.get(conn_id)
                if tick is not None:
                    tick["executors"] = [e for e in tick.get("executors", ()) if e["id"] != entry["id"]]
                merged = self._merged()
            state.apply(merged)
        elif kind == "hello":
            if msg.get("root"):
                self.instrumented = True
                state.apply(msg)
                state.apply({"k": "pool", "t": self.ctx.t_launch})
        elif kind == "exit":
            with self._lock:
                self._exits.setdefault(msg.get("executor", ""), []).append(
                    (msg["pid"], msg["exitcode"], msg["t"]))
            state.apply(msg)
        elif kind == "error":
            state.apply(msg)

    def lost(self, conn_id: int) -> None:
        """A process of the program is gone: its executors stay, as they last were."""
        with self._lock:
            tick = self._ticks.pop(conn_id, None)
            for entry in (tick or {}).get("executors", ()):
                self._retired.setdefault(entry["id"], entry)
            merged = self._merged()
        self.ctx.state.apply(merged)

    def _merged(self) -> Dict[str, Any]:
        merged = merge_ticks(self._ticks.values(), list(self._retired.values()))
        merged["k"] = "tick"
        if not self._ticks:
            merged["t"] = time.monotonic()
        return merged

    def _copy_output(self, stream: Any, target: Optional[Any]) -> None:
        """Keep the program's output lines for the TUI; copy the bytes through when headless."""
        output = self.ctx.output
        fd = stream.fileno()
        pending = b""
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            output.add_bytes(len(data))
            if target is not None:
                try:
                    target.write(data)
                    target.flush()
                except (OSError, ValueError):
                    target = None
            lines = (pending + data).split(b"\n")
            pending = lines.pop()
            if len(pending) > 8192:
                lines.append(pending)
                pending = b""
            for raw in lines:
                output.add_line(raw.decode("utf-8", "replace").rstrip("\r"))
        if pending:
            output.add_line(pending.decode("utf-8", "replace"))
        stream.close()

    def _wait(self, proc: subprocess.Popen) -> None:
        code = proc.wait()
        # The program's last tick and "bye" are on their way: let them land.
        self._root_done.wait(END_DRAIN_S if self.instrumented else 0.2)
        self.exit_code = code
        if code == 0:
            status, reason = "completed", ""
        elif code < 0:
            status, reason = "failed", "the program was killed by %s" % signal_name(-code)
        else:
            status, reason = "failed", "the program exited with code %d" % code
        if not self.instrumented:
            reason = (reason + "; " if reason else "") + ("the program never loaded execscope's instrumentation "
                                                          "(it ended before Python started, or is not CPython)")
        self.ctx.finish(status, reason)

    # -- snapshots -----------------------------------------------------------------

    def decorate(self, snap: Snapshot, tick: Dict[str, Any], worker_views: Any, now: float) -> Snapshot:
        """Add the per-executor views and the program to a snapshot the session built."""
        t_launch = self.ctx.t_launch
        with self._lock:
            retired = set(self._retired)
            rates = {k: list(v) for k, v in self._rates.items()}
            exits = {k: list(v) for k, v in self._exits.items()}
            processes = len(self._ticks)
        views = []
        for entry in tick.get("executors", ()):
            ex_id = entry.get("id", "?")
            state = "retired" if ex_id in retired else ("shutting_down" if entry.get("shutdown") else "live")
            view = executor_view(entry, worker_views, t_launch, now, rates.get(ex_id, ()), state,
                                 exits.get(ex_id, ()))
            views.append(self.meter.update(view))
        proc = self.proc
        program = ProgramView(argv=self.argv, pid=proc.pid if proc is not None else 0, exit_code=self.exit_code,
                              instrumented=self.instrumented, processes=processes,
                              output_tail=self.ctx.output.lines()[-OUTPUT_KEEP:])
        missing: Dict[Tuple[str, str], None] = {}  # in order, once each
        for entry in tick.get("executors", ()):
            missing.update((tuple(part), None) for part in entry.get("unavailable", ()))
        return replace(snap, source=self.name, executors=tuple(views), program=program,
                       max_workers=tick.get("max_workers"), unavailable=snap.unavailable + tuple(missing))

    def finalize(self, snap: Snapshot) -> Snapshot:
        """The last snapshot, once the program is gone: its exit code is known now."""
        if snap.program is None or self.exit_code is None:
            return snap
        return replace(snap, program=replace(snap.program, exit_code=self.exit_code))

    def evaluate(self, snap: Snapshot, history: Sequence[Snapshot]) -> Snapshot:
        return self.alerts.evaluate(snap)  # each executor against its own history

    def poll(self) -> None:
        pass  # the waiter thread sees the program end

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        if self._listener is not None:
            self._listener.close()


def _isatty(stream: Any) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def _target(stream: Any, passthrough: bool) -> Optional[Any]:
    if not passthrough or stream is None:
        return None
    return getattr(stream, "buffer", None)

