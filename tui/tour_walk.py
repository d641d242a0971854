"""One tour step while it runs: its rows, which one is live, and its verdict.

    StepWalk(step)          rows queued, one per run of the step
    walk.current            (name, config) of the run to start now, None when all ran
    walk.live(snap)         the run in progress drew a snapshot (its row fills in)
    walk.finished(run)      the run ended: its row keeps the final figures; go on
    walk.verdict(facts)     once every run ended: the tour's own judgement (``tour.Check``)

A step's verdict is the headless tour's: the same judge on the same run
objects (``report.run_json``), so the TUI and ``execscope tour --headless``
can never disagree.  A run that yields no run object (it could not start,
or its session cannot give one) leaves the claim "not measured", with why.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from execscope import tour
from execscope.model import RunConfig, Snapshot

from .comparison import CompareRow, finish_row
from .tour_steps import TourStep


class StepWalk:
    def __init__(self, step: TourStep) -> None:
        self.step = step
        self.rows: List[CompareRow] = [CompareRow(name or "run", config) for name, config in step.configs]
        self.index = 0
        self.objects: Dict[str, Mapping[str, Any]] = {}
        self.problems: List[str] = []

    @property
    def current(self) -> Optional[Tuple[str, RunConfig]]:
        if self.index >= len(self.rows):
            return None
        row = self.rows[self.index]
        return row.label, row.config

    @property
    def done(self) -> bool:
        return self.index >= len(self.rows)

    def live(self, snap: Optional[Snapshot]) -> None:
        if self.done or snap is None:
            return
        row = self.rows[self.index]
        row.snap = snap
        row.status = "running"

    def finished(self, session: Any, error: Optional[str] = None) -> None:
        """The current run ended (``session`` closed, or None when it never started)."""
        if self.done:
            return
        row = self.rows[self.index]
        name = self.step.configs[self.index][0]
        if error:
            row.status, row.error = "error", error
        if session is not None:
            finish_row(row, session)
            record = session.record()
            if record is None:
                self.problems.append("run %s gave no run record" % (name or row.label))
            else:
                from execscope import report

                self.objects[name] = report.run_json(record)
        elif row.status != "error":
            row.status, row.error = "error", "the run did not start"
        self.index += 1

    def verdict(self, facts: tour.Facts) -> Optional[tour.Check]:
        """The claim's verdict once every run ended; None while the step runs."""
        claim = self.step.claim_step
        if not self.done or claim is None or claim.judge is None:
            return None
        if self.problems:
            return tour.Check(tour.UNMEASURED, "; ".join(self.problems), "-")
        try:
            return claim.judge(self.objects, facts)
        except tour.NotMeasured as exc:
            return tour.Check(tour.UNMEASURED, str(exc), "-")
        except (KeyError, TypeError, ValueError) as exc:
            return tour.Check(tour.UNMEASURED, "the runs lacked a figure the judge needs (%s)" % exc, "-")
