"""Attach's link to the agent it loads into a CPython 3.14+ process (``remote.py``, ``inject/remote.py``).

``AgentLink.start`` decides whether the target can be instrumented, listens
on ``run_dir/telemetry.sock`` (0600, in the run's 0700 directory), writes the
boot script, runs the helper and waits for the agent's hello.  The agent then
speaks program mode's telemetry, read by a ``ProgramSource`` (its readers,
merged ticks, per-executor views and detectors) that is never allowed to
kill anything: the process is not ours.

When it cannot be done the link says why in one line (``mode()``), and
attach goes on from outside, with stacks.  Closing the link closes the
socket: the agent sees it and detaches (restores what it wrapped).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import replace
from typing import Any, List, Mapping, Optional, Tuple

from . import detect, remote
from .inject import SOCKET_NAME
from .model import Snapshot
from .source import SourceContext

SAFE_POINT_S = 5.0  # how long the target may take to reach a safe point and say hello
DRAIN_S = 1.0  # the target exited: how long its last tick may take to arrive
PARTIAL = ("breakdown", "process pools found running: a call item's transfer to its worker and its unpickling "
                        "there count as queue wait (the workers were not started with execscope's worker "
                        "instrumentation); worker states come from /proc")


class AgentLink:
    def __init__(self, pid: int, ctx: SourceContext, history_len: int = 600) -> None:
        self.pid = pid
        self.ctx = ctx
        self.history_len = history_len
        self.reason = ""
        self.since: Optional[float] = None  # time.time() when the agent said hello
        self.latency_s: Optional[float] = None  # helper started -> agent's hello
        self.t_inject: Optional[float] = None  # time.monotonic() when the helper was started
        self.telemetry: Any = None  # a ProgramSource reading the agent
        self._boot_dir: Optional[str] = None

    def start(self, environ: Optional[Mapping[str, str]], cmdline: Tuple[str, ...] = ()) -> bool:
        """Try to instrument the target; True once its agent reports."""
        from .program import ProgramSource

        ctx = self.ctx
        info = ctx.interpreter
        why = remote.eligible(info, environ, cmdline)
        if why:
            self.reason = why
            return False
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = os.path.join(ctx.run_dir, SOCKET_NAME)
        listener.bind(path)
        os.chmod(path, 0o600)
        listener.listen(8)
        listener.settimeout(0.2)
        telemetry = ProgramSource(ctx.config, detect.DETECTORS, self.history_len)
        telemetry.ctx = replace(ctx, remember=lambda pid: None)  # never kill what we attached to
        telemetry._listener = listener
        self.telemetry = telemetry
        ctx.spawn(telemetry._accept, "execscope-accept")
        ctx.python_env()  # makes run_dir/py holding only execscope
        script, boot_dir = remote.boot_script(ctx.run_dir)
        t0 = self.t_inject = time.monotonic()
        why = remote.inject(info["path"], self.pid, script)
        if why:
            remote.remove_boot(boot_dir)  # the target was never told of it
            return self._fail(why)
        deadline = t0 + SAFE_POINT_S
        status = None
        while not telemetry.instrumented and time.monotonic() < deadline:
            status = remote.boot_status(boot_dir)
            if status is not None and status != "ok":
                remote.remove_boot(boot_dir)
                return self._fail("the agent could not start in the target: %s" % status)
            time.sleep(0.01)
        if not telemetry.instrumented:
            # The target may still run the script later: it is left for it,
            # and removes itself then (remote.BOOT).
            return self._fail("the target reached no safe point within %gs (blocked in C code?)" % SAFE_POINT_S)
        self.latency_s = time.monotonic() - t0
        self.since = time.time()
        self._boot_dir = boot_dir
        return True

    def _fail(self, why: str) -> bool:
        self.reason = why
        if self.telemetry is not None:
            self.telemetry.close()
            self.telemetry = None
        return False

    def reported(self) -> bool:
        """The agent said hello: the telemetry, not the stacks, describes the executors."""
        return self.telemetry is not None and self.telemetry.instrumented

    def drain(self) -> None:
        if self.reported():
            self.telemetry._root_done.wait(DRAIN_S)

    def mode(self) -> str:
        if self.since is not None:
            return "instrumented since %s" % time.strftime("%H:%M:%S", time.localtime(self.since))
        return "stacks only: %s" % self.reason if self.reason else ""

    def unavailable(self, snap: Snapshot) -> List[Tuple[str, str]]:
        out = list(snap.unavailable)
        if any(ex.kind == "process" for ex in snap.executors):
            out.append(PARTIAL)
        if snap.gil.source == "unavailable":
            out.append(("gil", snap.gil.reason))
        return out

    def close(self) -> None:
        if self.telemetry is not None:
            self.telemetry.close()
        if self._boot_dir is not None:
            remote.remove_boot(self._boot_dir)  # the script has run: only its status is left
