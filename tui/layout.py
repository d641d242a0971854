"""Which live panels fit the terminal: below about 80x24 the screen gives up
whole panels, in a fixed order, and says which and what size would show them.

    plan(rows=20, cols=60, fixed=9, cores=4)
      -> Plan(hidden=("cores", "bottom"),
              note="Cores, Time split, Alerts hidden (needs 80x27)")

``fixed`` is what is never given up: the header, the tour's lines, a tour
step's rows, notices and the footer.  The workers and queue come first
(they are the run), the cores next, the time split and alerts last, except
that alerts in progress are named in the note so they are never missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

MIDDLE_MIN = 6  # workers and queue: border + 4 lines
BOTTOM_MIN = 6  # time split and alerts: border + 4 lines
MIN_COLS = 80
NAMES = {"cores": "Cores", "bottom": "Time split, Alerts", "middle": "Workers, Queue"}


@dataclass(frozen=True)
class Plan:
    hidden: Tuple[str, ...] = ()
    note: str = ""


def plan(rows: int, cols: int, fixed: int, cores: int, alerts: int = 0) -> Plan:
    """``fixed``: rows always shown; ``cores``: the cores panel's rows; ``alerts``: active alerts."""
    hidden = []
    need = {"middle": MIDDLE_MIN, "cores": cores, "bottom": BOTTOM_MIN}
    if sum(need.values()) <= rows - fixed:
        return Plan()
    free = rows - fixed - 1  # a row for the note itself
    for name in ("cores", "bottom", "middle"):
        if sum(v for k, v in need.items() if k not in hidden) <= free:
            break
        hidden.append(name)
    if not hidden:
        return Plan()
    text = ", ".join(NAMES[h] for h in hidden)
    if alerts and "bottom" in hidden:
        text += " (%d active)" % alerts
    text += " hidden (needs %dx%d)" % (max(cols, MIN_COLS), fixed + sum(need.values()))
    return Plan(tuple(hidden), text)
