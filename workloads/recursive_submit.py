"""A task that submits to its own executor and waits: starvation (C5)."""

from __future__ import annotations

import time

from . import _runtime
from .base import Param, Workload


def _leaf(i: int, j: int, work_ms: float) -> int:
    if work_ms:
        time.sleep(work_ms / 1000.0)
    return i * 1000 + j


def recursive_task(i: int, fanout: int = 2, work_ms: float = 5.0) -> int:
    executor = _runtime.current_executor()
    futures = [executor.submit(_leaf, i, j, work_ms) for j in range(fanout)]
    # The moment this worker starts waiting on its own executor: a starvation
    # detector can be checked against it.
    _runtime.mark("blocked", task=i)
    total = sum(f.result() for f in futures)
    _runtime.mark("unblocked", task=i)
    return total


WORKLOAD = Workload(
    name="recursive_submit",
    summary="tasks submit sub-tasks to their own pool and wait (deadlock)",
    explanation=(
        "Each task submits sub-tasks to the very executor it runs on and blocks "
        "on their results. Once every worker holds a parent task, the sub-tasks "
        "sit in the queue with no worker left to run them and the parents wait "
        "forever: worker starvation, a deadlock with the CPU idle. More workers "
        "only move the threshold; the remedy is to not wait on your own pool "
        "(a separate executor for sub-tasks, or callbacks instead of blocking)."
    ),
    claims=("C5",),
    expect="deadlock once all workers wait on queued sub-tasks",
    expected_best="thread",
    task=recursive_task,
    params=(
        Param("fanout", int, 2, "sub-tasks per task", minimum=1, maximum=10_000),
        Param("work_ms", float, 5.0, "sleep per sub-task in milliseconds", minimum=0.0, maximum=60_000.0),
    ),
    executors=("thread",),
    default_tasks=8,
)
