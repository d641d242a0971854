"""Many tiny tasks through executor.map: the chunksize decides the IPC count (C9)."""

from __future__ import annotations

from .base import Param, Workload


def tiny_task(i: int, size: int = 200, chunksize: int = 1) -> int:
    return sum(range(size + i % 7))


WORKLOAD = Workload(
    name="chunksize",
    summary="thousands of tiny tasks through map(chunksize=...)",
    explanation=(
        "Thousands of tasks of a few microseconds each go through executor.map. "
        "With chunksize=1 a process pool pays one pickle and one pipe round trip "
        "per task, far more than the task itself. A larger chunksize sends the "
        "items in batches, so the fixed cost is paid once per chunk. Thread pools "
        "ignore chunksize."
    ),
    claims=("C9",),
    expect="process-pool throughput rises steeply with chunksize; IPC share falls",
    expected_best="serial",
    task=tiny_task,
    params=(
        Param("size", int, 200, "numbers summed per task", minimum=0, maximum=10**8),
        Param("chunksize", int, 1, "items per map chunk", minimum=1, maximum=10**7),
    ),
    mode="map",
    default_tasks=4000,
)
