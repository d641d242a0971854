"""A task's outcome as it crosses back from a worker: called, described, pickled.

Shared by process workers (``worker``) and subinterpreter workers
(``interp_task``).  Each worker interpreter of an InterpreterPoolExecutor
imports this on its first task, so it imports almost nothing: no
``typing`` (annotations stay strings), ``traceback`` only on a failure.
Standard library only, Python 3.9 syntax.
"""

from __future__ import annotations

import pickle

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Optional, Tuple

PROTOCOL = pickle.HIGHEST_PROTOCOL


def pack(status: str, value: Any) -> Tuple[str, Any]:
    """A task's outcome as it travels back: ``("ok", the pickled value)``, or
    ``("error", describe(...))`` for a failure or a value that cannot be pickled."""
    if status != "ok":
        return status, value
    try:
        return status, pickle.dumps(value, PROTOCOL)
    except Exception as exc:
        return "error", describe(exc, "result cannot be pickled: ")


def call(fn: Any, args: tuple, kwargs: dict) -> Tuple[Any, str]:
    """``(value, "ok")``, or ``(describe(exc), "error")`` when the task raised."""
    try:
        return fn(*args, **kwargs), "ok"
    except Exception as exc:
        return describe(exc), "error"


def call_chunk(fn: Any, items: tuple, kwargs: dict) -> Tuple[Any, str]:
    """``map`` with a chunksize: one call carries several items."""
    try:
        return [fn(item, **kwargs) for item in items], "ok"
    except Exception as exc:
        return describe(exc), "error"


def describe(exc: BaseException, prefix: str = "") -> Tuple[str, str, Optional[bytes]]:
    """(message, traceback text, the pickled exception or None).  The exception
    itself travels for callers that hand it back to a program whose own
    ``except`` clauses must still match (see instrument.remote_exception)."""
    import traceback  # only on failure: a worker interpreter starts without it

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        data: Optional[bytes] = pickle.dumps(exc, PROTOCOL)
    except Exception:
        data = None
    return (prefix + type(exc).__name__ + ": " + str(exc), text, data)
