"""Does the machine have a CPU to spare?  The GIL sampler asks before each round.

py-spy's CPU is free while a core idles; on a machine the run keeps busy
(a process pool as wide as the machine) every CPU-second py-spy takes is one
the run waits for.  ``saturated`` reads the per-core figures the session's
ticker already measures (``SamplerTargets.cpu_per_core``: each core's busy
percent over the last half second), keeps the cores this process may run
on, and says whether they were busy ``SATURATED`` of the time or more; the
sampler then takes lighter rounds (sampling/gil.py).
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence

SATURATED = 0.85  # of the usable CPUs busy: no CPU to spare
WINDOW_S = 0.5  # the ticks the per-core figures are averaged over


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


def own_cores() -> Optional[List[int]]:
    """The cores this process may run on (its affinity), None where unknown."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def saturated(per_core: Sequence[float], usable_cpus: int, cores: Optional[Sequence[int]] = None) -> bool:
    """``is_saturated`` over the machine's per-core percents, only ``cores``
    counted (another tenant's busy cores are not ours to spare).

    >>> saturated([95.0, 90.0, 0.0], 2, cores=[0, 1]), saturated([95.0, 90.0, 0.0], 2, cores=[1, 2])
    (True, False)
    """
    if cores is not None:
        per_core = [per_core[i] for i in cores if i < len(per_core)] or per_core
    return is_saturated(per_core, usable_cpus)
