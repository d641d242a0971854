"""What runs inside each process-pool worker.

``init_worker`` is the pool's initializer: it has the worker die with its
parent (``lifecycle.die_with_parent``; nothing else would: a worker blocked
on its call queue never notices), claims a state slot, and notes when each
call item's header and body arrive on the pipe and how long its unpickling
takes.
``run_task`` and ``run_chunk`` wrap the user's function: they time the
compute, pickle the result (timed) and return the result bytes with the
timings.  Nothing is pickled twice.  ``run_light`` and ``run_light_chunk``
(the calls the tracker does not time phase by phase) only keep the slot's
live state and counters and return the result as it is.

Transfer time is measured here, not guessed.  A worker reads its next call
item with ``Connection._recv_bytes`` under the queue's read lock: a 4-byte
header read that blocks until the parent writes, then the body.  We wrap
``Connection._recv`` in this process only and note when the header arrives
and when the body has been read; the executor's unpickling of the call item
is timed by multiprocessing's pickler hook (``probes.time_queue_pickling``);
transfer = wrapper start - header arrival - unpickling.  Waiting for work is
therefore never counted as transfer.  Likewise the end of ``_send_bytes``
marks the result as handed over.
"""

from __future__ import annotations

import os
import struct
import time
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a spawned worker ~5 ms to import
    from typing import Any, Optional, Tuple

from . import gilprobe
from . import slots as _slots
from .lifecycle import die_with_parent
from .outcome import call, call_chunk, pack

_table: Optional[_slots.SlotTable] = None
_header_at = 0.0  # the last message's header arrived (its transfer began) ...
_body_at = 0.0  # ... and its body was read (its unpickling began)
_deser_s = 0.0  # the last unpickling multiprocessing did here took this long ...
_deser_at = 0.0  # ... and ended then
RECEIVING_SHOWN = 1 << 16  # bytes: a smaller call item is not shown as "receiving"
_done = 0
_busy = 0.0
_user_init: Any = None
_pid = 0  # this worker's pid, read once (getpid is a system call)
_clock = time.monotonic



def _patch_connection() -> None:
    from multiprocessing import connection

    cls = connection.Connection
    if getattr(cls, "_execscope_patched", False):
        return
    recv, send_bytes = cls._recv, cls._send_bytes
    clock = time.monotonic
    header = struct.Struct("!i")

    def _recv(self, size, *args, **kwargs):  # type: ignore[no-untyped-def]
        global _header_at, _body_at
        buf = recv(self, size, *args, **kwargs)
        if size == 4:  # a message's header: its body follows
            _header_at = clock()
            # only a body worth the name shows as "receiving" (a write saved a task)
            if _table is not None and header.unpack(buf.getvalue())[0] >= RECEIVING_SHOWN:
                _table.state(_slots.RECEIVING, -1, _header_at)
        else:
            _body_at = clock()
        return buf

    def _send_bytes(self, buf, *args, **kwargs):  # type: ignore[no-untyped-def]
        send_bytes(self, buf, *args, **kwargs)
        if _table is not None:
            _table.state(_slots.IDLE, -1, clock())

    cls._recv = _recv
    cls._send_bytes = _send_bytes
    cls._execscope_patched = True


def init_worker(run_dir: str, parent_pid: int, start_method: str, user_init: Any = None) -> None:
    global _table, _pid
    die_with_parent()
    # Under forkserver our parent is the fork server (which exits when the
    # runner does), not the runner itself.
    if start_method != "forkserver" and os.getppid() != parent_pid:
        os._exit(70)  # parent died before we could register for its death
    gilprobe.allow_tracer_from_env()  # the GIL sampler may attach (Yama ptrace_scope=1)
    _pid = os.getpid()
    _table = _slots.SlotTable(run_dir)
    _table.claim()
    now = time.monotonic()
    _table.write(pid=os.getpid(), state=_slots.IDLE, task=-1, since=now, t_started=now)
    _patch_connection()
    from . import probes

    # the executor's own unpickling of each call item, timed where it happens
    # (a forked worker also drops the parent's hook on its pickles here)
    probes.time_queue_pickling(on_loads=_unpickled_one)
    if user_init is not None:
        user_init()


def _unpickled_one(obj: Any, seconds: float, nbytes: int) -> None:
    """multiprocessing unpickled something in this worker: the last one before
    a call is its call item (kept as cheap as a hook can be: every task)."""
    global _deser_s, _deser_at
    _deser_s = seconds
    _deser_at = _clock()


def _unpickled(t_begin: float) -> float:
    """Seconds the executor took to unpickle this call item: timed by the
    pickler's hook when its unpickling went through multiprocessing's (after
    this message's body was read), else the time from the body read to the
    call (an executor with its own pickler: loky)."""
    if _deser_at >= _body_at > 0:
        return _deser_s
    return max(0.0, t_begin - _body_at) if _body_at and _body_at >= _header_at else 0.0


def _finish(task_id: int, t_begin: float, deser_s: float, t_c0: float, t_c1: float,
            status: str, value: Any) -> Tuple[str, Any, tuple]:
    global _done, _busy
    if _table is not None:
        _table.state(_slots.SERIALIZING, task_id, t_c1)
    r0 = time.monotonic()
    status, out = pack(status, value)
    r1 = time.monotonic()
    _done += 1
    _busy += t_c1 - t_c0
    if _table is not None:
        _table.finished(r1, _done, _busy)
    meta = (_pid or os.getpid(), _header_at or t_begin, t_begin, deser_s, t_c0, t_c1, r1 - r0, r1)
    # (the parent takes t_begin - header - deser_s as the transfer: the body's
    # crossing and the queue's own steps between the read and the call)
    return status, out, meta


def run_task(task_id: int, fn: Any, args: tuple, kwargs: dict) -> Tuple[str, Any, tuple]:
    """Call the task (already unpickled by the executor, timed), pickle the result."""
    t_c0 = time.monotonic()
    if _table is not None:
        _table.state(_slots.RUNNING, task_id, t_c0)
    value, status = call(fn, args, kwargs)
    return _finish(task_id, t_c0, _unpickled(t_c0), t_c0, time.monotonic(), status, value)


def run_chunk(task_id: int, fn: Any, items: tuple, kwargs: dict) -> Tuple[str, Any, tuple]:
    """``map`` with a chunksize: one call item carries several items."""
    t_c0 = time.monotonic()
    if _table is not None:
        _table.state(_slots.RUNNING, task_id, t_c0)
    value, status = call_chunk(fn, items, kwargs)
    return _finish(task_id, t_c0, _unpickled(t_c0), t_c0, time.monotonic(), status, value)


def run_light(task_id: int, fn: Any, args: tuple, kwargs: dict) -> Any:
    """A call not timed phase by phase: live state and counts only."""
    global _done, _busy
    t_c0 = _clock()
    if _table is not None:
        _table.state(_slots.RUNNING, task_id, t_c0)
    try:
        return fn(*args, **kwargs)
    finally:
        t_c1 = _clock()
        _done += 1
        _busy += t_c1 - t_c0
        if _table is not None:
            _table.finished(t_c1, _done, _busy)


def run_light_chunk(task_id: int, fn: Any, items: tuple, kwargs: dict) -> list:
    """``run_light`` for a ``map`` chunk."""
    return run_light(task_id, _chunk, (fn, items, kwargs), {})


def _chunk(fn: Any, items: tuple, kwargs: dict) -> list:
    return [fn(item, **kwargs) for item in items]
