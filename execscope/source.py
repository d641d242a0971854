"""Sources: what a run watches, and how its telemetry reaches the run state.

A ``Session`` (session.py) owns a run's lifetime, its samplers and its
snapshots; a *source* owns what is watched.  Three exist:

    RunnerSource   (here)         ``execscope run WORKLOAD``: the runner process
                                  (runner/), telemetry on a pipe
    ProgramSource  (program.py)   ``execscope run -- python prog.py``: the user's
                                  program with the agent injected (inject/),
                                  telemetry on a Unix socket, one executor each
    AttachSource   (attach.py)    ``execscope attach PID``: a running process,
                                  read from outside with ``py-spy dump``

Every source does the same five things, called by the session::

    launch(ctx)                      start what is watched (or find it); start
                                     the threads that feed ``ctx.state``; return
                                     the process the session owns and kills, or
                                     None (attach: not ours to kill)
    poll()                           every tick: notice an end no thread reports
    decorate(snap, tick, views, now) add what only this source knows (executors,
                                     the program, unavailable panels)
    evaluate(snap, history)          the detectors, into ``snap.alerts``
    finalize(snap)                   the last snapshot, once the run is closed
    close()                          stop its threads and sockets

A source never sees the session: it gets a ``SourceContext`` with the run's
facts and the four things it may do (the environment for a Python process
of the run, start a thread, remember a pid to kill at the end, finish the
run with a status and a reason).  A new source (a remote attach, another
launcher) is a class with these methods, chosen in ``make_source``.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Mapping, Optional, Protocol, Sequence

from . import detect, protocol
from .model import RunConfig, Snapshot
from .runstate import RunOutput, RunState
from .signals import signal_name

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# The runner starts as a script in the run's private directory, not with
# ``-m``: ``-m`` puts the working directory first on sys.path, where a user's
# own ``execscope`` would hide ours.  The script's directory (that private
# directory, holding only ``execscope``) comes first, then the working
# directory, as ``-m`` would have it, for the user's ``module:function``.
RUNNER_BOOT = """import os, sys
sys.path.insert(1, os.getcwd())
from execscope.runner.main import main
if __name__ == "__main__":
    sys.exit(main())
"""
RUNNER_DRAIN_S = 0.05  # a runner gone without "done": how long its last lines may take


@dataclass(frozen=True)
class SourceContext:
    """What a source may know and do; given to ``Source.launch``."""

    config: RunConfig
    interpreter: Mapping[str, Any]  # interpreters.probe facts (path, version, gil_enabled...)
    run_dir: str  # the run's private directory (0700), removed when the run is closed
    t_launch: float  # time.monotonic() at launch: snapshot times count from here
    state: RunState  # where telemetry goes (thread-safe)
    output: RunOutput  # where the watched process's output goes
    passthrough_output: bool  # also copy the program's output to ours (headless program runs)
    python_env: Callable[[], Dict[str, str]]  # environment for a Python process of the run (makes run_dir/py)
    spawn: Callable[..., None]  # spawn(target, name, *args): a daemon thread the session joins at close
    remember: Callable[[int], None]  # a pid to kill at the end even if it left the process group
    finish: Callable[[str, str], None]  # finish(status, reason): the first call decides


class Source(Protocol):
    name: str  # runner | program | attach: Snapshot.source
    alerts: Any  # has .active(kind): the session's deadlock watchdog reads it
    ends_at_last_task: bool  # a finished run's wall time ends at its last task (else: at the end)

    def launch(self, ctx: SourceContext) -> Optional[subprocess.Popen]: ...

    def poll(self) -> None: ...

    def decorate(self, snap: Snapshot, tick: Dict[str, Any], worker_views: Callable[..., Any],
                 now: float) -> Snapshot: ...

    def evaluate(self, snap: Snapshot, history: Sequence[Snapshot]) -> Snapshot: ...

    def finalize(self, snap: Snapshot) -> Snapshot: ...

    def close(self) -> None: ...


def python_env(run_dir: str, workload: Any, params: Mapping[str, str]) -> Dict[str, str]:
    """The environment of a Python process of the run: execscope importable from
    ``run_dir/py`` (and nothing else of ours), the workload's own variables."""
    py_dir = os.path.join(run_dir, "py")
    os.mkdir(py_dir, 0o700)
    os.symlink(PACKAGE_DIR, os.path.join(py_dir, "execscope"))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (py_dir, env.get("PYTHONPATH", "")) if p)
    env.pop("PYTHONSTARTUP", None)
    if workload is not None and workload.env is not None:
        env.update(workload.env(workload.resolve_params(dict(params))))
    return env


class RunnerSource:
    """A built-in or custom workload in execscope's own runner process."""

    name = "runner"
    ends_at_last_task = True

    def __init__(self, config: RunConfig, detectors: Sequence[Any], history_len: int,
                 capture_output: bool = True) -> None:
        self.config = config
        self.detectors = tuple(detectors)
        self.alerts = detect.AlertBook()
        self.capture_output = capture_output
        self.proc: Optional[subprocess.Popen] = None
        self._ctx: Optional[SourceContext] = None
        self._said_end = False  # the runner sent "done" or "fatal"

    def launch(self, ctx: SourceContext) -> subprocess.Popen:
        import json

        self._ctx = ctx
        cfg = ctx.config
        read_fd, write_fd = os.pipe()
        payload = {
            "fd": write_fd,
            "parent_pid": os.getpid(),
            "run_dir": ctx.run_dir,
            "workload": cfg.workload,
            "executor": cfg.executor,
            "start_method": cfg.start_method,
            "workers": cfg.workers,
            "tasks": cfg.tasks,
            "duration": cfg.duration,
            "params": dict(cfg.params),
        }
        try:
            env = ctx.python_env()  # makes the private py/ directory the script goes in
            self.proc = subprocess.Popen(
                [ctx.interpreter["path"], self._script(ctx.run_dir), json.dumps(payload)],
                pass_fds=(write_fd,),
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if self.capture_output else None,
                stderr=subprocess.STDOUT if self.capture_output else None,
                env=env,
                cwd=os.getcwd(),
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        ctx.spawn(self._read_telemetry, "execscope-telemetry", read_fd)
        if self.capture_output:
            ctx.spawn(self._read_output, "execscope-output", self.proc.stdout)
        return self.proc

    @staticmethod
    def _script(run_dir: str) -> str:
        path = os.path.join(run_dir, "py", "execscope_runner.py")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(RUNNER_BOOT)
        return path

    def _read_telemetry(self, fd: int) -> None:
        ctx = self._ctx
        with os.fdopen(fd, "rb", buffering=1 << 16) as pipe:
            for line in pipe:
                try:
                    msg = protocol.decode(line)
                except ValueError:
                    continue
                ctx.state.apply(msg)
                if msg.get("k") == "fatal":
                    self._said_end = True
                    ctx.finish("failed", msg.get("message", "the runner failed"))
                elif msg.get("k") == "done":
                    self._said_end = True
                    ctx.finish(msg.get("status", "failed"), msg.get("reason", ""))

    def _read_output(self, stream: Any) -> None:
        output = self._ctx.output
        for raw in iter(lambda: stream.readline(8192), b""):
            output.add_bytes(len(raw))
            output.add_line(raw.decode("utf-8", "replace").rstrip("\n"))
        stream.close()

    def poll(self) -> None:
        """The runner is gone without saying "done": give the reader a moment to
        drain the pipe, then call it what it is."""
        proc = self.proc
        if proc is None or self._said_end or proc.poll() is None:
            return
        time.sleep(RUNNER_DRAIN_S)
        if not self._said_end:
            code = proc.returncode
            how = ("killed by signal %s" % signal_name(-code)) if code < 0 else "exit code %d" % code
            self._ctx.finish("failed", "the runner process ended unexpectedly (%s)" % how)

    def decorate(self, snap: Snapshot, tick: Dict[str, Any], worker_views: Callable[..., Any],
                 now: float) -> Snapshot:
        missing = tick.get("unavailable")  # parts the executor family cannot measure (Dask)
        return replace(snap, unavailable=tuple((name, why) for name, why in missing)) if missing else snap

    def evaluate(self, snap: Snapshot, history: Sequence[Snapshot]) -> Snapshot:
        findings = detect.evaluate(list(history) + [snap], self.detectors)
        return replace(snap, alerts=self.alerts.update(findings, snap.t_s))

    def finalize(self, snap: Snapshot) -> Snapshot:
        return snap

    def close(self) -> None:
        pass  # the session kills the runner's tree


def make_source(config: RunConfig, detectors: Sequence[Any], history_len: int,
                capture_output: bool = True) -> Source:
    """The source a validated config asks for."""
    if config.argv:
        from .program import ProgramSource

        return ProgramSource(config, detectors, history_len)
    if config.attach_pid is not None:
        from .attach import AttachSource

        return AttachSource(config, detectors, history_len)
    return RunnerSource(config, detectors, history_len, capture_output=capture_output)
