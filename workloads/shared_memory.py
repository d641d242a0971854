"""The same floats as pickle_heavy, through multiprocessing.shared_memory (C10)."""

from __future__ import annotations

import sys
from typing import Any, Dict

from ._payload import float_count, make_floats, tiny_compute
from .base import Param, Workload


def _attach(name: str):
    from multiprocessing import shared_memory

    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name=name, track=False)
    shm = shared_memory.SharedMemory(name=name)
    # Before 3.13 every attach registers the block with the resource tracker,
    # which then warns about (and unlinks) a "leaked" block when the worker
    # exits. Only the creator owns it: undo the registration here.
    try:
        from multiprocessing import resource_tracker

        resource_tracker.unregister(shm._name, "shared_memory")
    except Exception:
        pass
    return shm


def _prepare(params: Dict[str, Any]) -> Dict[str, Any]:
    from multiprocessing import shared_memory

    values = make_floats(params["mb"])
    raw = values.tobytes()
    shm = shared_memory.SharedMemory(create=True, size=len(raw))
    shm.buf[: len(raw)] = raw
    return {"shm_name": shm.name, "count": len(values), "_shm": shm}


def _cleanup(context: Dict[str, Any]) -> None:
    shm = context.get("_shm")
    if shm is not None:
        shm.close()
        shm.unlink()


def shared_memory_task(i: int, mb: float = 8.0, shm_name: str = "", count: int = 0) -> float:
    shm = _attach(shm_name)
    try:
        view = shm.buf[: count * 8].cast("d")
        try:
            return tiny_compute(view)
        finally:
            view.release()
    finally:
        shm.close()


WORKLOAD = Workload(
    name="shared_memory",
    summary="pickle_heavy's data through shared memory: no copy",
    explanation=(
        "The same megabytes of floats as pickle_heavy, placed once in a "
        "multiprocessing.shared_memory block. Each task receives only the block's "
        "name and reads the numbers in place, so almost nothing is pickled or "
        "sent: the IPC share of task time collapses and the process pool is no "
        "longer slower than serial."
    ),
    claims=("C10",),
    expect="IPC share near zero, unlike pickle_heavy with the same data",
    expected_best="process",
    task=shared_memory_task,
    params=(Param("mb", float, 8.0, "block size in MiB of float64 values", minimum=0.001, maximum=4096.0),),
    prepare=_prepare,
    cleanup=_cleanup,
    default_tasks=40,
)

__all__ = ["WORKLOAD", "float_count"]
