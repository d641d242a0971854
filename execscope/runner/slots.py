"""Per-worker live state in a shared file mapping, for process-pool workers.

A process worker cannot cheaply tell the runner "I started task 17" through
the executor (results only travel when a task ends).  Instead each worker
claims a fixed 64-byte slot in a file in the run's private directory and
writes its state there with plain stores; the runner reads all slots at each
tick.  No locks, no messages, no syscalls on the hot path.

A slot is claimed atomically by creating ``claims/<n>`` with O_EXCL.  Writes
use a sequence counter (odd while writing) so a reader can retry a torn read.

    seq pid state task since done busy_s t_started      (8 x 8 bytes)
"""

from __future__ import annotations

import mmap
import os
import struct
from typing import Dict, List, Optional

SLOT = struct.Struct("<qqqqdqdd")
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
        self._seq = 0
        self._fields = [0, 0, 0, -1, 0.0, 0, 0.0, 0.0]

    def claim(self) -> Optional[int]:
        claims = os.path.join(self.run_dir, "claims")
        for n in range(MAX_SLOTS):
            try:
                fd = os.open(os.path.join(claims, str(n)), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                continue
            os.close(fd)
            self.index = n
            return n
        return None

    def write(self, **changes: float) -> None:
        """Update this worker's slot (seq, pid and the rest by field name)."""
        if self.index is None:
            return
        f = self._fields
        for name, value in changes.items():
            f[_FIELD_INDEX[name]] = value
        offset = self.index * SLOT.size
        self._seq += 1
        f[0] = self._seq * 2 - 1
        SLOT.pack_into(self._map, offset, *f)
        f[0] = self._seq * 2
        struct.pack_into("<q", self._map, offset, f[0])

    def read_all(self) -> List[Dict[str, float]]:
        out = []
        for n in range(MAX_SLOTS):
            offset = n * SLOT.size
            for _attempt in range(3):
                row = SLOT.unpack_from(self._map, offset)
                if row[0] % 2 == 0 and SLOT.unpack_from(self._map, offset)[0] == row[0]:
                    break
            if row[1] == 0:
                if row[0] == 0:
                    break  # slots are claimed in order: nothing beyond
                continue
            out.append(dict(zip(_FIELDS[1:], row[1:])))
        return out

    def close(self) -> None:
        try:
            self._map.close()
        except (BufferError, ValueError):
            pass


_FIELDS = ("seq", "pid", "state", "task", "since", "done", "busy_s", "t_started")
_FIELD_INDEX = {name: i for i, name in enumerate(_FIELDS)}
