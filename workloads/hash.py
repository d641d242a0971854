"""hashlib over large buffers: C code that releases the GIL."""

from __future__ import annotations

import hashlib
from typing import Any, Dict

from .base import Param, Workload


def _prepare(params: Dict[str, Any]) -> Dict[str, Any]:
    size = int(params["mb"] * 1024 * 1024)
    # Deterministic, incompressible-looking content without os.urandom cost.
    block = hashlib.sha256(b"execscope").digest() * 2048
    reps, rest = divmod(size, len(block))
    return {"buf": block * reps + block[:rest]}


def hash_task(i: int, mb: float = 8.0, rounds: int = 2, algorithm: str = "sha256", buf: bytes = b"") -> str:
    digest = ""
    for _ in range(rounds):
        digest = hashlib.new(algorithm, buf).hexdigest()
    return digest


WORKLOAD = Workload(
    name="hash",
    summary="hashlib on large buffers (releases the GIL)",
    explanation=(
        "Each task hashes a buffer of several megabytes. hashlib releases the GIL "
        "for inputs above 2 KiB, so threads hash in parallel inside one process. "
        "A process pool gets the same parallelism but must copy the buffer to a "
        "worker for every task."
    ),
    claims=("C13",),
    expect="threads scale with cores; GIL mostly released; processes pay the copy",
    expected_best="thread",
    task=hash_task,
    params=(
        Param("mb", float, 8.0, "buffer size in MiB", minimum=0.001, maximum=4096.0),
        Param("rounds", int, 2, "hashes of the buffer per task", minimum=1, maximum=10**6),
        Param("algorithm", str, "sha256", "hashlib algorithm", choices=("sha256", "sha1", "md5", "blake2b", "sha512")),
    ),
    prepare=_prepare,
    default_tasks=60,
)
