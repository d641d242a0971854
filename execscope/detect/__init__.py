"""Detectors: pure functions over the snapshot history, raised as things happen.

Each detector takes the history (``Sequence[Snapshot]``, oldest first, the
newest being the tick under evaluation) and returns a ``Finding`` when its
condition holds *now*, or None.  ``AlertBook`` turns the stream of findings
into alerts that start, update their evidence while the condition lasts, and
clear when it ends.  Nothing here touches a process or a terminal, so every
detector is tested with hand-built snapshots.

=====================  ==========================================================
kind                   condition (module)
=====================  ==========================================================
starvation             every worker blocked on its own pool with work queued, or
                       half of them blocked while queue wait beats compute
                       (``starvation``)
pickle_bottleneck      IPC is most of a process-pool task's time, or enough of it
                       to make the pool slower than one thread (``ipc``)
chunksize_too_small    the same in ``map`` with small items: per-call overhead
                       that a larger chunksize would share (``ipc``)
gil_contention         a thread pool computing Python, one thread at a time
                       (``gil``)
oversubscription       more runnable worker threads than usable CPUs
                       (``oversubscription``)
fork_with_threads      fork while the runner had other threads; a worker hung at
                       start (``fork``)
worker_crash           a process worker died; the pool is broken (``crash``)
startup_dominated      worker start-up is a large share of a short run
                       (``startup``)
=====================  ==========================================================

Thresholds are ratios (of task time, of usable CPUs, of run length), never
absolute figures of one machine; each module's docstring says why its numbers
are what they are.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

from ..model import Snapshot
from .base import Detector, Finding
from .book import MAX_ALERTS, AlertBook
from .crash import worker_crash
from .fork import fork_with_threads
from .gil import gil_contention
from .ipc import chunksize_too_small, pickle_bottleneck
from .oversubscription import oversubscription
from .startup import startup_dominated
from .starvation import starvation

DETECTORS: Tuple[Detector, ...] = (
    starvation,
    worker_crash,
    fork_with_threads,
    pickle_bottleneck,
    chunksize_too_small,
    gil_contention,
    oversubscription,
    startup_dominated,
)

KINDS = ("starvation", "worker_crash", "fork_with_threads", "pickle_bottleneck", "chunksize_too_small",
         "gil_contention", "oversubscription", "startup_dominated")


def evaluate(history: Sequence[Snapshot], detectors: Sequence[Detector] = DETECTORS,
             strict: bool = False) -> List[Finding]:
    """Every detector's finding for the newest snapshot.  A detector that fails
    is skipped for this tick (one bug must not blind the others) unless
    ``strict``, as the tests run it."""
    if not history:
        return []
    found = []
    for detector in detectors:
        try:
            finding = detector(history)
        except Exception:
            if strict:
                raise
            continue
        if finding is not None:
            found.append(finding)
    return found


__all__ = ["AlertBook", "DETECTORS", "Detector", "Finding", "KINDS", "MAX_ALERTS", "evaluate",
           "chunksize_too_small", "fork_with_threads", "gil_contention", "oversubscription",
           "pickle_bottleneck", "startup_dominated", "starvation", "worker_crash"]
