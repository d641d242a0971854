"""The guided tour's steps: ``execscope.tour``'s claim steps, as the screens use them.

The claims, their texts, the runs and the sentence to watch are defined once,
in ``execscope.tour`` (the headless ``execscope tour`` walks the same steps).
Each TUI step shows the claim's ``focus`` run live; a claim that cannot run
here (``blocked``) has nothing to show and is left out of the guided tour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

from execscope import tour
from execscope.model import RunConfig


@dataclass(frozen=True)
class TourStep:
    claims: Tuple[str, ...]
    title: str
    config: RunConfig
    watch: str  # one sentence: what to look at while it runs


def from_claim(step: "tour.ClaimStep") -> TourStep:
    config = step.config(step.focus) if step.focus else step.runs[0][1]
    return TourStep((step.claim,), step.text, config, step.watch)


def tour_steps(size: str = "default", python: Optional[str] = None, gil: bool = True,
               claims: Optional[Sequence[str]] = None) -> Tuple[TourStep, ...]:
    """The steps of ``tour.steps(...)`` that can run here, in order."""
    return tuple(from_claim(s) for s in tour.steps(size=size, python=python, gil=gil, claims=claims)
                 if not s.blocked and s.runs)
