"""Samplers: what execscope measures from outside the run's processes.

``cpu`` (psutil: per core, per process, per thread), ``sched`` (/proc: which
threads are runnable, context switches), ``gil`` (py-spy: per-thread GIL
held / wait) with ``pyspy`` and ``gilstats``.  A sampler sees the run only
through ``targets.SamplerTargets``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional


def gil_factory(config: Any) -> Optional[Callable[[Any], Any]]:
    """The GIL sampler factory for a run (``Session(gil_sampler_factory=...)``),
    or None when the run asked for no GIL sampling (``--no-gil``)."""
    if not config.gil_sampling:
        return None
    from .gil import make_sampler

    return make_sampler
