"""A task that does nothing: what is left is the executor's own overhead."""

from __future__ import annotations

from .base import Workload


def noop_task(i: int) -> None:
    return None


WORKLOAD = Workload(
    name="noop",
    summary="empty task: per-task executor overhead",
    explanation=(
        "The task returns at once, so its latency is pure executor overhead: "
        "for a thread pool a queue hand-off between threads (microseconds); for a "
        "process pool a pickle, a pipe write, a context switch into another "
        "process and the same back again (tens to hundreds of microseconds)."
    ),
    claims=("C12",),
    expect="thread pool overhead in microseconds; process pool an order of magnitude more",
    expected_best="serial",
    task=noop_task,
    default_tasks=2000,
)
