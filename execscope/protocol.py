"""The telemetry the runner streams to the execscope process.

One JSON object per line on a pipe the parent created (never a network
socket).  Standard library only, Python 3.9 syntax: both ends import it.

Messages (``k`` is the kind):

    hello   runner pid, interpreter, machine, resolved executor settings
    pool    the executor exists: max_workers, threads alive when workers
            were forked, worker start-up
    tick    ~10 Hz: counters, queue depth, per-worker state, finished tasks,
            ``gil_probe`` (runner/gilprobe.py: GIL wake-up lateness, or null)
    mark    a timestamped event from the workload (``_runtime.mark``)
    warn    a Python warning raised in the runner (e.g. fork with threads)
    error   the first few task exceptions, with traceback
    exit    a process worker that died: pid, exit code
    done    the runner finished: status and reason
    fatal   the runner could not start the run: usage or environment error

All times are ``time.monotonic()`` seconds, the same clock in every process
of the machine (CLOCK_MONOTONIC on Linux).
"""

from __future__ import annotations

import json
from typing import Any, Dict

# One finished task (or one map chunk of ``items`` tasks), as a list in this
# order.  Durations in seconds, sizes in bytes.
TASK_FIELDS = (
    "id",  # task index (nested submissions get ids after the top level)
    "parent",  # id of the task that submitted it, -1 at top level
    "worker",  # "t:<native thread id>" or "p:<pid>"
    "items",  # tasks in this record (map chunk size), normally 1
    "ok",  # 1 succeeded, 0 raised / could not be sent / worker died
    "t_submit",  # submit() called
    "t_begin",  # a worker took it (thread) or began receiving it (process)
    "t_end",  # the result was available to the submitter
    "queue",  # waiting for a worker
    "ser",  # pickling the arguments (parent, feeder thread)
    "xfer",  # moving them through the pipe into the worker
    "deser",  # unpickling them in the worker
    "compute",  # the function itself
    "rser",  # pickling the result (worker)
    "rxfer",  # moving it back through the pipe
    "rdeser",  # unpickling it in the parent
    "bytes_out",  # argument pickle size
    "bytes_in",  # result pickle size
)
TASK_INDEX = {name: i for i, name in enumerate(TASK_FIELDS)}
BREAKDOWN_FIELDS = ("queue", "ser", "xfer", "deser", "compute", "rser", "rxfer", "rdeser")

# Worker row in a tick, as a list in this order.
WORKER_FIELDS = (
    "key",  # "t:<native id>" or "p:<pid>"
    "label",  # thread name or "pid <n>"
    "pid",
    "tid",  # native thread id (threads), 0 for processes
    "state",  # idle running blocked receiving deserializing serializing sending starting
    "task",  # task id or -1
    "since",  # monotonic time the state began
    "done",  # tasks finished by this worker
    "busy_s",  # total compute seconds
    "blocked_on",  # task id waited on, -1 (only when state == blocked)
    "t_started",  # when the worker became ready (process start-up), 0 if unknown
)
WORKER_INDEX = {name: i for i, name in enumerate(WORKER_FIELDS)}


def encode(kind: str, **fields: Any) -> bytes:
    fields["k"] = kind
    return (json.dumps(fields, separators=(",", ":"), default=str) + "\n").encode()


def decode(line: bytes) -> Dict[str, Any]:
    return json.loads(line)
