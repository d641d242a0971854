"""Record a program's terminal session as an asciicast v2 file, with the standard library only.

The program runs in a pseudo-terminal of a fixed size (or the size of the
terminal we run in, following its resizes).  Everything it writes is kept
with the time it arrived, one JSON line per read, flushed as it goes, so a
recording cut short (Ctrl-C, a closed SSH session, a crash) is still a valid
cast up to that moment.  On a terminal the session is also shown live and
the keys typed go to the program.

    {"version": 2, "width": 100, "height": 30, "timestamp": 1700000000, ...}
    [0.104213, "o", "\\u001b[?1049h..."]
    [3.5, "r", "120x40"]

Stopping: after ``duration`` seconds, or on SIGINT/SIGTERM/SIGHUP, the
program is asked to quit as a user would (``quit_keys``), then told with
SIGTERM, and only then killed; the recorder waits for it, so nothing it
started outlives the recording unless the program itself leaves it behind.
"""

from __future__ import annotations

import codecs
import fcntl
import json
import os
import resource
import select
import signal
import struct
import sys
import termios
import time
import tty
from dataclasses import dataclass
from typing import IO, Dict, List, Optional, Sequence, Tuple

from .errors import UsageError

READ_SIZE = 65536
TERM = "xterm-256color"


def parse_size(text: str) -> Tuple[int, int]:
    """'100x30' -> (100, 30): columns by rows."""
    cols, sep, rows = text.lower().partition("x")
    try:
        size = (int(cols), int(rows))
    except ValueError:
        size = None
    if not sep or size is None or not (20 <= size[0] <= 1000 and 5 <= size[1] <= 500):
        raise UsageError("--size %r: give COLUMNSxROWS, such as 100x30 (20..1000 x 5..500)" % text)
    return size


def set_winsize(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def terminal_size(fd: int) -> Optional[Tuple[int, int]]:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return (size.columns, size.lines) if size.columns and size.lines else None


class CastWriter:
    """asciicast v2: a header line, then one ``[time, code, data]`` line per event,
    each written and flushed whole."""

    def __init__(self, out: IO[str], cols: int, rows: int, *, title: Optional[str] = None,
                 command: Optional[str] = None, env: Optional[Dict[str, str]] = None) -> None:
        self.out = out
        self.events = 0
        self.last_t = 0.0
        header = {"version": 2, "width": cols, "height": rows, "timestamp": int(time.time())}
        if command:
            header["command"] = command
        if title:
            header["title"] = title
        header["env"] = env or {"TERM": TERM}
        self._line(header)

    def _line(self, obj: object) -> None:
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.out.flush()

    def event(self, t: float, code: str, data: str) -> None:
        t = max(round(t, 6), self.last_t)  # never backwards, even after rounding
        self.last_t = t
        self.events += 1
        self._line([t, code, data])

    def output(self, t: float, text: str) -> None:
        if text:
            self.event(t, "o", text)

    def resize(self, t: float, cols: int, rows: int) -> None:
        self.event(t, "r", "%dx%d" % (cols, rows))


@dataclass
class Recording:
    path: str
    cols: int
    rows: int
    duration_s: float
    events: int
    bytes_out: int
    exit_status: Optional[int]  # the program's: 0.., -N killed by signal N, None not known
    stopped_by: Optional[str]  # None: the program ended by itself; "duration"; or a signal's name
    cpu_s: float  # CPU time the recorder itself used


def child_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ)
    for name in ("COLUMNS", "LINES"):  # they would override the pseudo-terminal's size
        env.pop(name, None)
    env["TERM"] = TERM
    env.setdefault("COLORTERM", "truecolor")
    env.update(extra or {})
    return env


def spawn(argv: Sequence[str], cols: int, rows: int, env: Dict[str, str]) -> Tuple[int, int]:
    """Start ``argv`` on a new pseudo-terminal of ``cols`` x ``rows`` as the
    leader of its own session; returns (pid, master fd)."""
    master, slave = os.openpty()
    set_winsize(slave, cols, rows)
    pid = os.fork()
    if pid == 0:  # the child: only async-signal-safe work until exec
        try:
            os.close(master)
            os.login_tty(slave)
            os.execvpe(argv[0], list(argv), env)
        except BaseException as exc:
            try:
                os.write(2, ("cannot run %s: %s\r\n" % (argv[0], exc)).encode("utf-8", "replace"))
            finally:
                os._exit(127)
    os.close(slave)
    return pid, master


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [], 1.0)
            continue
        view = view[n:]


class Recorder:
    """One recording session; ``run()`` returns the Recording."""

    def __init__(self, argv: Sequence[str], path: str, size: Optional[Tuple[int, int]] = None, *,
                 duration: Optional[float] = None, quit_keys: Optional[bytes] = b"q",
                 grace_s: float = 5.0, title: Optional[str] = None, command: Optional[str] = None,
                 env: Optional[Dict[str, str]] = None, echo_fd: Optional[int] = None,
                 input_fd: Optional[int] = None) -> None:
        self.argv = list(argv)
        self.path = path
        self.follow = size is None and echo_fd is not None and terminal_size(echo_fd) is not None
        self.size = size or (echo_fd is not None and terminal_size(echo_fd)) or (80, 24)
        self.duration = duration
        self.quit_keys = quit_keys
        self.grace_s = grace_s
        self.title, self.command = title, command
        self.env = child_env(env)
        self.echo_fd = echo_fd
        self.input_fd = input_fd
        self.signals: List[int] = []
        self.stopped_by: Optional[str] = None
        self._stop_stage = 0  # 0 running, 1 asked to quit, 2 SIGTERM sent, 3 SIGKILL sent
        self._stage_at = 0.0

    def run(self) -> Recording:
        cols, rows = self.size
        cpu0 = _cpu_s()
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        old_handlers = {}
        old_wakeup = None
        saved_tty = None
        try:
            old_wakeup = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGWINCH):
                old_handlers[sig] = signal.signal(sig, self._on_signal)
            with open(self.path, "w", encoding="utf-8") as out:
                writer = CastWriter(out, cols, rows, title=self.title, command=self.command,
                                    env={"TERM": TERM, "SHELL": os.environ.get("SHELL", "/bin/sh")})
                pid, master = spawn(self.argv, cols, rows, self.env)
                if self.input_fd is not None:
                    saved_tty = termios.tcgetattr(self.input_fd)
                    tty.setraw(self.input_fd)
                try:
                    status, bytes_out, elapsed = self._loop(pid, master, wake_r, writer)
                finally:
                    os.close(master)
        finally:
            if saved_tty is not None:
                termios.tcsetattr(self.input_fd, termios.TCSADRAIN, saved_tty)
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)
            if old_wakeup is not None:
                signal.set_wakeup_fd(old_wakeup)
            os.close(wake_r)
            os.close(wake_w)
        return Recording(self.path, cols, rows, elapsed, writer.events, bytes_out, status,
                         self.stopped_by, _cpu_s() - cpu0)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.signals.append(signum)

    def _loop(self, pid: int, master: int, wake_r: int, writer: CastWriter) -> Tuple[Optional[int], int, float]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        start = time.monotonic()
        status: Optional[int] = None
        gone_at = start
        bytes_out = 0
        reading_input = self.input_fd is not None
        master_open = True
        while True:
            now = time.monotonic()
            self._handle_signals(pid, master, writer, now - start)
            if self.duration is not None and now - start >= self.duration and self._stop_stage == 0:
                self.stopped_by = self.stopped_by or "duration"
                self._escalate(pid, master, now)
            if self._stop_stage and now - self._stage_at >= self.grace_s:
                self._escalate(pid, master, now)
            if status is None:
                status = _reap(pid)
                gone_at = now
            fds = [wake_r] + ([master] if master_open else []) + ([self.input_fd] if reading_input else [])
            timeout = 0.0 if status is not None else 0.25
            if self.duration is not None and self._stop_stage == 0:
                timeout = min(timeout, max(0.0, self.duration - (now - start)))
            ready, _, _ = select.select(fds, [], [], timeout)
            if wake_r in ready:
                os.read(wake_r, 512)
            if master in ready:
                try:
                    data = os.read(master, READ_SIZE)
                except OSError:  # EIO: every holder of the terminal's other end has closed it
                    data = b""
                if data:
                    bytes_out += len(data)
                    writer.output(time.monotonic() - start, decoder.decode(data))
                    self._echo(data)
                else:
                    master_open = False
            if reading_input and self.input_fd in ready:
                keys = os.read(self.input_fd, 1024)
                if keys:
                    _write_all(master, keys)
                else:
                    reading_input = False
            if status is not None and (not master_open or master not in ready or now - gone_at > 1.0):
                break  # the program is gone and what it wrote has been read
        writer.output(time.monotonic() - start, decoder.decode(b"", final=True))
        return status, bytes_out, time.monotonic() - start

    def _handle_signals(self, pid: int, master: int, writer: CastWriter, t: float) -> None:
        while self.signals:
            signum = self.signals.pop(0)
            if signum == signal.SIGWINCH:
                size = terminal_size(self.echo_fd) if self.follow and self.echo_fd is not None else None
                if size and size != self.size:
                    self.size = size
                    set_winsize(master, *size)
                    writer.resize(t, *size)
                    try:
                        os.kill(pid, signal.SIGWINCH)
                    except ProcessLookupError:
                        pass
                continue
            if signum == signal.SIGHUP:
                self.echo_fd = self.input_fd = None  # our terminal is gone
            self.stopped_by = self.stopped_by or signal.Signals(signum).name
            self._escalate(pid, master, time.monotonic())

    def _escalate(self, pid: int, master: int, now: float) -> None:
        """Ask the program to quit as a user would, then SIGTERM, then SIGKILL."""
        self._stop_stage += 1
        self._stage_at = now
        if self._stop_stage == 1 and not self.quit_keys:
            self._stop_stage = 2
        try:
            if self._stop_stage == 1:
                _write_all(master, self.quit_keys)
            elif self._stop_stage == 2:
                os.kill(pid, signal.SIGTERM)
            else:
                os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, OSError):
            pass

    def _echo(self, data: bytes) -> None:
        if self.echo_fd is None:
            return
        try:
            _write_all(self.echo_fd, data)
        except OSError:
            self.echo_fd = None  # the terminal went away: keep recording


def _reap(pid: int) -> Optional[int]:
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return -1
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def record(argv: Sequence[str], path: str, size: Optional[Tuple[int, int]] = None, **kwargs: object) -> Recording:
    """Record ``argv`` into ``path``; on a terminal that ``size`` fits in, it is
    shown live and keys go to it (else Ctrl-C stops it)."""
    interactive = sys.stdout.isatty() and sys.stdin.isatty()
    here = terminal_size(sys.stdout.fileno()) if interactive else None
    if size is not None and (here is None or size[0] > here[0] or size[1] > here[1]):
        interactive = False  # drawn on a smaller terminal it would be garbled
    kwargs.setdefault("echo_fd", sys.stdout.fileno() if interactive else None)
    kwargs.setdefault("input_fd", sys.stdin.fileno() if interactive else None)
    return Recorder(argv, path, size, **kwargs).run()  # type: ignore[arg-type]
