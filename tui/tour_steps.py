"""The guided tour: one step per claim, each a run plus one sentence to watch.

Plain data on purpose: the headless ``execscope tour`` (``execscope.tour``)
walks the same claims.  ``tour_steps()`` takes its steps from there when that
module is present (each step's ``focus`` run is the one shown live) and falls
back to the list below otherwise, so the screens never need to change.
Runs are short (a few seconds) so a step shows its effect while the sentence
is being read; the tour waits on a key (``execscope demo`` on a timer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from execscope.model import RunConfig


@dataclass(frozen=True)
class TourStep:
    claims: Tuple[str, ...]
    title: str
    config: RunConfig
    watch: str  # one sentence: what to look at while it runs


def _run(workload: str, executor: str, **kw) -> RunConfig:
    return RunConfig(workload=workload, executor=executor, **kw)


STEPS: Tuple[TourStep, ...] = (
    TourStep(("C1", "C2"), "threads and the GIL",
             _run("cpu", "thread", workers=4, duration=6.0),
             "Four threads, one GIL: total CPU stays near one core and each worker's "
             "GIL wait share grows."),
    TourStep(("C6",), "processes, one GIL each",
             _run("cpu", "process", duration=6.0),
             "Each worker process has its own interpreter: every usable core fills up "
             "and tasks/s scales."),
    TourStep(("C3",), "I/O releases the GIL",
             _run("io", "thread", workers=16, duration=5.0),
             "Sixteen threads overlap their sleeps: tasks/s is about 16 times serial "
             "while the cores stay idle."),
    TourStep(("C4",), "the default pool size",
             _run("cpu", "thread", duration=4.0),
             "No --workers given: the header shows the max_workers the interpreter "
             "picked next to the usable CPUs."),
    TourStep(("C5",), "starvation",
             _run("recursive_submit", "thread", workers=2),
             "Every worker waits on a sub-task stuck in the queue behind it: watch the "
             "starvation alert name them."),
    TourStep(("C7", "C8"), "pickle costs",
             _run("pickle_heavy", "process", workers=2, tasks=30),
             "Megabytes per task and almost no compute: the time bar is mostly "
             "serialize and transfer."),
    TourStep(("C10",), "shared memory",
             _run("shared_memory", "process", workers=2, tasks=30),
             "The same data through shared memory: the IPC part of the bar collapses."),
    TourStep(("C9",), "chunksize 1",
             _run("chunksize", "process", workers=2, params={"chunksize": "1"}),
             "One IPC round trip per tiny task: note tasks/s and the IPC share."),
    TourStep(("C9",), "chunksize 64",
             _run("chunksize", "process", workers=2, params={"chunksize": "64"}),
             "The same tasks 64 to a chunk: far fewer round trips, many times the tasks/s."),
    TourStep(("C11",), "spawn start-up",
             _run("cpu", "process", start_method="spawn", workers=2, tasks=40),
             "spawn starts each worker from a fresh interpreter: see the start-up time "
             "before the first task."),
    TourStep(("C12",), "per-task overhead",
             _run("noop", "process", workers=2),
             "Empty tasks measure pure executor overhead: compare the latency with the "
             "thread pool's microseconds."),
    TourStep(("C13",), "C code without the GIL",
             _run("hash", "thread", workers=2, tasks=40),
             "hashlib releases the GIL on big buffers: threads fill the cores with no "
             "copying."),
)


def shared_steps() -> Optional[Tuple[TourStep, ...]]:
    """The headless tour's steps as TourSteps, or None when ``execscope.tour``
    is not there (or not in the shape this adapter knows)."""
    try:
        from execscope import tour
    except ImportError:
        return None
    try:
        steps = []
        for s in tour.steps():
            if getattr(s, "blocked", "") or not s.runs:
                continue
            config = s.config(s.focus) if s.focus else s.runs[0][1]
            steps.append(TourStep((s.claim,), s.text, config, s.watch))
        return tuple(steps) or None
    except Exception:  # an API this adapter predates: the built-in list still works
        return None


def tour_steps() -> Tuple[TourStep, ...]:
    return shared_steps() or STEPS
