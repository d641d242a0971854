"""The telemetry the runner streams to the execscope process.

One JSON object per line on a pipe the parent created (never a network
socket).  Standard library only, Python 3.9 syntax: both ends import it.

Messages (``k`` is the kind):

    hello   runner pid, interpreter, machine, resolved executor settings
    pool    the executor exists: max_workers, threads alive when workers
            were forked, worker start-up
    tick    ~10 Hz: counters, queue depth, per-worker state, task totals,
            ``gil_probe`` (runner/gilprobe.py: GIL wake-up lateness, or null)
    mark    a timestamped event from the workload (``_runtime.mark``)
    warn    a Python warning raised in the runner (e.g. fork with threads)
    error   the first few task exceptions, with traceback
    exit    a process worker that died: pid, exit code
    done    the runner finished: status and reason
    fatal   the runner could not start the run: usage or environment error

A program run (``execscope run -- python prog.py``) speaks the same lines
from ``execscope.inject.agent``, over a Unix socket in the run's private
directory, one connection per process of the program that creates an
executor: ``hello`` (``root`` true for the program's own process), ``tick``
(``executors``: one entry per live executor, the fields of a runner tick plus
``id``, ``created_at``, ``kind``, ``max_workers``...), ``retired`` (an
executor's last entry, once it is shut down and drained), ``error`` and
``exit`` (with ``executor``), ``bye``.

All times are ``time.monotonic()`` seconds, the same clock in every process
of the machine (CLOCK_MONOTONIC on Linux).
"""

from __future__ import annotations

import json
import math
from typing import Any, Dict

# Finished tasks are not sent one by one (encoding one record costs more
# than a thread-pool task itself): the runner keeps cumulative totals and
# sends them with every tick, and the session replaces its copy.
BREAKDOWN_FIELDS = ("queue", "ser", "xfer", "deser", "compute", "rser", "rxfer", "rdeser")
# queue    waiting for a worker (thread: submit -> taken; process: submit ->
#          the worker began receiving it, minus the serialization in between)
# ser      pickling the arguments (parent, in the executor's feeder thread)
# xfer     moving them through the pipe into the worker
# deser    unpickling them in the worker
# compute  the function itself
# rser     pickling the result (worker)
# rxfer    moving it back through the pipe
# rdeser   unpickling it in the parent
# A record may stand for a map chunk of several items: its queue wait applies
# to each item; every other phase is shared among them.
TOTALS_FIELDS = (
    "items",  # tasks finished (map chunks count their items)
    "failed",  # of which failed
    "records",  # executor calls finished (a chunk is one)
    "bytes_out",  # argument pickle bytes
    "bytes_in",  # result pickle bytes
    "first_submit",  # earliest submit of a finished task (monotonic), 0 if none
    "first_begin",  # earliest start of a finished task
    "last_end",  # latest end of a finished task
) + BREAKDOWN_FIELDS  # sums of seconds, queue weighted by items
# Latency histogram: bucket k holds [LOW * BASE**(k-1), LOW * BASE**k).
HIST_LOW = 1e-7
HIST_BASE = 1.02
_INV_LOG_BASE = 1.0 / math.log(HIST_BASE)


def latency_bucket(value: float) -> int:
    if value <= HIST_LOW:
        return 0
    return int(math.log(value / HIST_LOW) * _INV_LOG_BASE) + 1


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
# what a row holds for a field its writer does not know or does not set
_WORKER_DEFAULTS = {"pid": 0, "tid": 0, "task": -1, "since": 0.0, "done": 0, "busy_s": 0.0, "blocked_on": -1,
                    "t_started": 0.0}


def worker_row(**fields: Any) -> list:
    """A worker row in WORKER_FIELDS order from its fields by name; ``key``,
    ``label`` and ``state`` are required, the rest default.

    >>> row = worker_row(key="p:7", label="pid 7", pid=7, state="idle")
    >>> dict(zip(WORKER_FIELDS, row))["pid"], row[WORKER_INDEX["task"]]
    (7, -1)
    """
    unknown = set(fields) - set(WORKER_FIELDS)
    if unknown:
        raise TypeError("unknown worker fields: %s" % ", ".join(sorted(unknown)))
    values = dict(_WORKER_DEFAULTS, **fields)
    return [values[name] for name in WORKER_FIELDS]

# A program run's task ids: the n-th executor a process of the program creates
# numbers its tasks from n * ID_SPAN, so ids stay unique across executors (the
# TUI shows the task's number within its executor: ``id % ID_SPAN``).
ID_SPAN = 10 ** 12


def encode(msg_kind: str, /, **fields: Any) -> bytes:
    fields["k"] = msg_kind
    return (json.dumps(fields, separators=(",", ":"), default=str) + "\n").encode()


def decode(line: bytes) -> Dict[str, Any]:
    return json.loads(line)
