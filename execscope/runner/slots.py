"""Per-worker live state in a shared file mapping, for process-pool workers.

A process worker cannot cheaply tell the runner "I started task 17" through
the executor (results only travel when a task ends).  Instead each worker
claims a fixed 64-byte slot in a file in the run's private directory and
writes its state there with plain stores; the runner reads all slots at each
tick.  No locks, no messages, no syscalls on the hot path.

A slot is claimed atomically by creating ``claims/<n>`` with O_EXCL.  Each
field is an aligned 8-byte word written in place; the hot path writes only
(state, task, since) in one ``pack_into``.  A reader may see a state from one
write and a task from the next for one tick: harmless for a live view, and
far cheaper than a lock or a sequence counter on every task.

    spare pid state task since done busy_s t_started      (8 x 8 bytes)
"""

from __future__ import annotations

import mmap
import os
import struct
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a spawned worker ~5 ms to import
    from typing import Dict, List, Optional

SLOT = struct.Struct("<qqqqdqdd")
_HOT = struct.Struct("<qqd")  # state, task, since at offset 16
_HOT_OFFSET = 16
_DONE = struct.Struct("<qqdqd")  # state, task, since, done, busy_s at offset 16
MAX_SLOTS = 4096

IDLE, RUNNING, RECEIVING, DESERIALIZING, SERIALIZING, SENDING, STARTING = 1, 2, 3, 4, 5, 6, 7
STATE_NAMES = {
    0: "empty",
    IDLE: "idle",
    RUNNING: "running",
    RECEIVING: "receiving",
    DESERIALIZING: "deserializing",
    SERIALIZING: "serializing",
    SENDING: "sending",
    STARTING: "starting",
}


def create(run_dir: str) -> str:
    path = os.path.join(run_dir, "slots")
    with open(path, "wb") as fh:
        fh.truncate(SLOT.size * MAX_SLOTS)
    os.chmod(path, 0o600)
    os.makedirs(os.path.join(run_dir, "claims"), mode=0o700, exist_ok=True)
    return path


class SlotTable:
    """Both sides: a worker writes its own slot, the runner reads them all."""

    def __init__(self, run_dir: str) -> None:
        self.run_dir = run_dir
        fd = os.open(os.path.join(run_dir, "slots"), os.O_RDWR)
        try:
            self._map = mmap.mmap(fd, SLOT.size * MAX_SLOTS)
        finally:
            os.close(fd)
        self.index: Optional[int] = None
        self._at = self._hot_at = 0  # this slot's offset and its hot fields' offset, once claimed

    def claim(self) -> Optional[int]:
        claims = os.path.join(self.run_dir, "claims")
        for n in range(MAX_SLOTS):
            try:
                fd = os.open(os.path.join(claims, str(n)), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                continue
            os.close(fd)
            self.index = n
            self._at = n * SLOT.size
            self._hot_at = self._at + _HOT_OFFSET
            return n
        return None

    def write(self, **changes: float) -> None:
        """Update any fields of this worker's slot by name (start-up, counters)."""
        if self.index is None:
            return
        f = list(SLOT.unpack_from(self._map, self._at))
        for name, value in changes.items():
            f[_FIELD_INDEX[name]] = value
        SLOT.pack_into(self._map, self._at, *f)

    def state(self, state: int, task: int, since: float) -> None:
        """The per-task hot path: one 24-byte store."""
        if self.index is not None:
            _HOT.pack_into(self._map, self._hot_at, state, task, since)

    def finished(self, since: float, done: int, busy_s: float) -> None:
        """A task is done and its result is being sent: state, counters."""
        if self.index is not None:
            _DONE.pack_into(self._map, self._hot_at, SENDING, -1, since, done, busy_s)

    def read_all(self) -> List[Dict[str, float]]:
        out = []
        for n in range(MAX_SLOTS):
            row = SLOT.unpack_from(self._map, n * SLOT.size)
            if row[1] == 0:
                if not os.path.exists(os.path.join(self.run_dir, "claims", str(n))):
                    break  # slots are claimed in order: nothing beyond
                continue  # claimed, not written yet
            out.append(dict(zip(_FIELDS[1:], row[1:])))
        return out

    def close(self) -> None:
        try:
            self._map.close()
        except (BufferError, ValueError):
            pass


_FIELDS = ("spare", "pid", "state", "task", "since", "done", "busy_s", "t_started")
_FIELD_INDEX = {name: i for i, name in enumerate(_FIELDS)}
