"""What a sampler may know of the run it samples: ``SamplerTargets``.

A sampler (the GIL sampler, sampling/gil.py) runs beside a session but never
sees it.  It gets this narrow, read-only view instead: the main process (the
runner, a program, an attached process) and the executors' workers named by
field, the interpreter facts, the machine, whether the run is over.  A new
source that fills the run state with the usual telemetry gets sampled
without touching the samplers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional

import psutil

from .. import protocol
from ..model import FINAL_STATUSES


SUBINTERPRETER_LABEL = " (interpreter "  # "interp_0 (interpreter 1)"


@dataclass(frozen=True)
class WorkerRef:
    """One worker of the latest tick, as a sampler needs it."""

    key: str  # "t:<tid>" / "p:<pid>"
    label: str
    pid: int  # its process (a thread worker: the process it runs in)
    tid: int  # 0 for a process worker
    state: str  # the runner's idle / running / blocked ...

    @property
    def is_process(self) -> bool:
        return self.key.startswith("p:")

    @property
    def in_subinterpreter(self) -> bool:
        """An InterpreterPoolExecutor worker: its thread runs tasks in its own
        subinterpreter (runner/interp_pool.py labels it so)."""
        return not self.is_process and SUBINTERPRETER_LABEL in self.label


class SamplerTargets:
    """A read-only view of one run for its samplers.

    ``main_role`` is ``runner`` (execscope's runner: its hello names the
    interpreter, wait for it) or ``main`` (a program or an attached process,
    which may never say hello: the probed interpreter facts will do)."""

    def __init__(self, state: Any, interpreter: Mapping[str, Any], main_role: str,
                 main_pid: Callable[[], Optional[int]], main_exited: Callable[[], Optional[bool]],
                 status: Callable[[], str], cpu_per_core: Callable[[], List[float]] = list) -> None:
        self._state = state
        self.interpreter = dict(interpreter)
        self.main_role = main_role
        self._main_pid = main_pid
        self._main_exited = main_exited
        self._status = status
        self._cpu_per_core = cpu_per_core

    @property
    def waits_for_hello(self) -> bool:
        return self.main_role == "runner"

    def main_pid(self) -> Optional[int]:
        return self._main_pid()

    def main_gone(self) -> bool:
        """The main process has exited (or was never there)."""
        exited = self._main_exited()
        if exited is not None:
            return exited
        pid = self.main_pid()
        return pid is None or not psutil.pid_exists(pid)

    def run_over(self) -> bool:
        return self._status() in FINAL_STATUSES

    def hello(self) -> Dict[str, Any]:
        with self._state.lock:
            return dict(self._state.hello)

    def cpu_per_core(self) -> List[float]:
        """Each core's busy percent over the last ticks (the session's CPU
        sampler measured them; empty before the first)."""
        return self._cpu_per_core()

    def machine(self) -> Dict[str, Any]:
        with self._state.lock:
            return dict(self._state.hello.get("machine", {}))

    def workers(self) -> List[WorkerRef]:
        """Every worker of the latest tick: the runner's, or every executor's
        (a program or an attached process).  A thread row's pid 0 (the
        runner's own threads) is the main process."""
        with self._state.lock:
            tick = self._state.tick
            rows = list(tick.get("workers", ()))
            for entry in tick.get("executors", ()):
                rows.extend(entry.get("workers", ()))
        at = protocol.WORKER_INDEX
        main = self.main_pid() or 0
        refs = []
        for row in rows:
            key = str(row[at["key"]])
            pid = int(row[at["pid"]] or 0)
            refs.append(WorkerRef(key=key, label=str(row[at["label"]]), pid=pid or (0 if key.startswith("p:") else main),
                                  tid=int(row[at["tid"]] or 0), state=str(row[at["state"]])))
        return refs

    def worker_processes(self) -> List[WorkerRef]:
        """Process workers other than the main process."""
        main = self.main_pid()
        return [w for w in self.workers() if w.is_process and w.pid and w.pid != main]
