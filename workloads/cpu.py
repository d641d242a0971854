"""Pure-Python arithmetic: holds the GIL for the whole task."""

from __future__ import annotations

from .base import Param, Workload


def cpu_task(i: int, size: int = 150_000) -> int:
    total = 0
    for k in range(size):
        total += (k * k + i) % 7
    return total


WORKLOAD = Workload(
    name="cpu",
    summary="pure-Python arithmetic loop (holds the GIL)",
    explanation=(
        "Each task runs a tight pure-Python loop of integer arithmetic. The "
        "interpreter must hold the GIL for every bytecode, so under a thread pool "
        "only one thread computes at a time and the others queue for the lock; "
        "each thread is asked to drop it every switch interval (5 ms by default). "
        "Under a process pool every worker has its own interpreter and GIL, so the "
        "work spreads over as many cores as the machine really grants."
    ),
    claims=("C1", "C2", "C4", "C6", "C14"),
    expect="threads no faster than serial (GIL); processes scale with usable cores",
    expected_best="process",
    expected_best_without_gil="thread",
    expect_without_gil=("free-threaded build (C14): threads scale with usable cores like processes, "
                        "with nothing to pickle"),
    task=cpu_task,
    params=(Param("size", int, 150_000, "loop iterations per task", minimum=1, maximum=10**9),),
    default_tasks=120,
)
