"""What a running task may ask of the runner, without importing execscope.

``current_executor()`` is the executor the task itself runs on (thread and
serial executors only: a process worker cannot submit to its parent's pool),
so that a workload can reproduce recursive submission (claim C5).
``mark(name)`` records a timestamped event in the run's telemetry, so that a
test can compare what a detector says with what really happened.

The runner fills these hooks in; outside a run they do nothing useful.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

_executor: Any = None
_mark_sink: Optional[Callable[[str, float, dict], None]] = None


def install(executor: Any, mark_sink: Optional[Callable[[str, float, dict], None]]) -> None:
    global _executor, _mark_sink
    _executor, _mark_sink = executor, mark_sink


def current_executor() -> Any:
    if _executor is None:
        raise RuntimeError("current_executor() is only available inside a thread or serial run")
    return _executor


def mark(name: str, **data: Any) -> None:
    sink = _mark_sink
    if sink is not None:
        sink(name, time.monotonic(), data)
