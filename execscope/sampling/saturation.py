"""Does the machine have a CPU to spare?  The GIL sampler asks before each round.

py-spy's CPU is free while a core idles; on a machine the run keeps busy
(a process pool as wide as the machine) every CPU-second py-spy takes is one
the run waits for.  ``Saturation.check`` reads the cores this process may
run on (``/proc/stat`` through psutil, at most every ``EVERY_S``) and says
whether they were busy ``SATURATED`` of the time or more since the last
reading; the sampler then takes lighter rounds (sampling/gil.py).

    >>> s = Saturation(usable_cpus=2)
    >>> s.check(now=0.0)   # the first reading only primes the counters
    False
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, List, Optional, Sequence, Tuple

import psutil

from .cpu import busy_idle, core_percents

SATURATED = 0.85  # of the usable CPUs busy: no CPU to spare
EVERY_S = 0.5


def is_saturated(percents: Sequence[float], usable_cpus: int, threshold: float = SATURATED) -> bool:
    """Busy percents of the cores we may use -> every usable CPU (quota
    included) busy ``threshold`` of the time or more.

    >>> is_saturated([97.0, 91.0], 2), is_saturated([97.0, 40.0], 2), is_saturated([60.0, 60.0, 0, 0], 1)
    (True, False, True)
    """
    if not percents:
        return False
    cpus = max(1, min(len(percents), usable_cpus))
    return sum(percents) / 100.0 >= threshold * cpus


def _own_cores() -> Optional[List[int]]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


class Saturation:
    def __init__(self, usable_cpus: int, every_s: float = EVERY_S,
                 read: Callable[[], Sequence[Any]] = lambda: psutil.cpu_times(percpu=True),
                 cores: Optional[Sequence[int]] = None) -> None:
        self.usable_cpus = max(1, int(usable_cpus))
        self.every_s = every_s
        self._read = read
        self._cores = list(cores) if cores is not None else _own_cores()
        self._last: Optional[List[Tuple[float, float]]] = None
        self._t = -1e9
        self.saturated = False

    def check(self, now: Optional[float] = None) -> bool:
        now = time.monotonic() if now is None else now
        if now - self._t < self.every_s:
            return self.saturated
        try:
            reading = [busy_idle(t) for t in self._read()]
        except (OSError, psutil.Error):
            return self.saturated
        percents = core_percents(self._last, reading) if self._last is not None else None
        if percents is not None or self._last is None or len(self._last) != len(reading):
            self._last, self._t = reading, now
        if percents is not None:
            if self._cores is not None:
                percents = [percents[i] for i in self._cores if i < len(percents)] or percents
            self.saturated = is_saturated(percents, self.usable_cpus)
        return self.saturated
