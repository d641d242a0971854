"""The guided tour's steps: ``execscope.tour``'s claim steps, as the screens use them.

The claims, their texts, the runs and the sentence to watch are defined once,
in ``execscope.tour`` (the headless ``execscope tour`` walks the same steps).
A step with one run shows it live.  A comparative step (several runs: C2's
serial, thread x2, thread x4 and process) runs them one after another, the
live panels on the run in progress and a table of the step's rows above them,
so that a sentence such as "the thread rows stay at the serial row" points at
what is on screen.  A claim that cannot run here (``blocked``) has nothing to
show and is left out of the guided tour.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple

from execscope import tour
from execscope.model import RunConfig


@dataclass(frozen=True)
class TourStep:
    claims: Tuple[str, ...]
    title: str
    config: RunConfig  # the run a single live view would show (the claim's focus)
    watch: str  # one sentence: what to look at while it runs
    runs: Tuple[Tuple[str, RunConfig], ...] = ()  # (row name, config), in the order they run
    claim_step: Optional["tour.ClaimStep"] = None  # the judge and its runs, for the step's verdict

    @property
    def comparative(self) -> bool:
        return len(self.runs) > 1

    @property
    def configs(self) -> Tuple[Tuple[str, RunConfig], ...]:
        """What the step runs: its rows, or its one run."""
        return self.runs or (("", self.config),)


def from_claim(step: "tour.ClaimStep") -> TourStep:
    config = step.config(step.focus) if step.focus else step.runs[0][1]
    return TourStep((step.claim,), step.text, config, step.watch, tuple(step.runs), step)


def tour_steps(size: str = "default", python: Optional[str] = None, gil: bool = True,
               claims: Optional[Sequence[str]] = None) -> Tuple[TourStep, ...]:
    """The steps of ``tour.steps(...)`` that can run here, in order."""
    return tuple(from_claim(s) for s in tour.steps(size=size, python=python, gil=gil, claims=claims)
                 if not s.blocked and s.runs)


_early: Dict[str, Any] = {}  # the default tour's steps, worked out while the TUI starts


def prefetch() -> None:
    """Start working out the default tour's steps in a thread.

    Making them probes interpreters (a subprocess each, a few hundred
    milliseconds): started before the TUI imports Textual, that wait overlaps
    the import instead of delaying the first frame.  ``default_steps()`` takes
    the result."""
    if "thread" in _early:
        return

    def work() -> None:
        try:
            _early["steps"] = tour_steps()
        except BaseException as exc:  # raised where the steps are wanted
            _early["error"] = exc

    thread = threading.Thread(target=work, name="execscope-tour-steps", daemon=True)
    _early["thread"] = thread
    thread.start()


def default_steps() -> Tuple[TourStep, ...]:
    """``tour_steps()``: the prefetched ones when ``prefetch()`` ran (once)."""
    thread = _early.pop("thread", None)
    if thread is None:
        return tour_steps()
    thread.join()
    error = _early.pop("error", None)
    if error is not None:
        raise error
    return _early.pop("steps")
