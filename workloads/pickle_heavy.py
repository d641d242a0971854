"""Large arguments or results, tiny compute: IPC dominates (the reversal of C8)."""

from __future__ import annotations

from typing import Any, Dict

from ._payload import make_floats, tiny_compute
from .base import Param, Workload

_result_cache: Dict[tuple, Any] = {}


def _as_kind(values, kind: str) -> Any:
    if kind == "list":
        return values.tolist()
    if kind == "bytes":
        return values.tobytes()
    return values


def _prepare(params: Dict[str, Any]) -> Dict[str, Any]:
    if params["direction"] == "result":
        return {}
    return {"payload": _as_kind(make_floats(params["mb"]), params["kind"])}


def _result_payload(mb: float, kind: str) -> Any:
    # Built once per worker process (or once per thread-pool run) and reused,
    # so that the per-task cost is the send, not the construction.
    key = (mb, kind)
    if key not in _result_cache:
        _result_cache[key] = _as_kind(make_floats(mb), kind)
    return _result_cache[key]


def pickle_heavy_task(i: int, mb: float = 8.0, kind: str = "list", direction: str = "args", payload: Any = None) -> Any:
    if payload is not None:
        if isinstance(payload, bytes):
            value = float(sum(payload[::8000]))
        else:
            value = tiny_compute(payload)
    else:
        value = 0.0
    if direction in ("result", "both"):
        return _result_payload(mb, kind)
    return value


WORKLOAD = Workload(
    name="pickle_heavy",
    summary="megabytes per task, microseconds of compute: IPC dominates",
    explanation=(
        "Each task receives (or returns) several megabytes of floats and does "
        "almost nothing with them. In a thread pool the data is shared, so the "
        "task is nearly free. A process pool must pickle the data, push it "
        "through a pipe, and unpickle it in the worker for every task: the "
        "serialization and copy cost far more than the compute, and the process "
        "pool ends up slower than running serially."
    ),
    claims=("C7", "C8"),
    expect="process pool slower than serial; most task time in serialize/transfer",
    expected_best="thread",
    task=pickle_heavy_task,
    params=(
        Param("mb", float, 8.0, "payload size in MiB of float64 values", minimum=0.001, maximum=4096.0),
        Param("kind", str, "list", "list of floats, bytes, or array('d')", choices=("list", "bytes", "array")),
        Param("direction", str, "args", "which way the payload travels", choices=("args", "result", "both")),
    ),
    prepare=_prepare,
    default_tasks=40,
)
