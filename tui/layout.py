"""Which live panels fit the terminal, and how tall each is: below about 80x24
the screen gives up whole panels, in a fixed order, and says which and what
size would show them.

    plan(rows=20, cols=60, fixed=9, cores=4)
      -> Plan(hidden=("cores", "bottom"),
              note="Cores, Time split, Alerts hidden (needs 80x27)", middle=10, bottom=0)

``fixed`` is what is never given up: the header, the tour's lines, a tour
step's rows, notices and the footer.  The workers and queue come first
(they are the run), the cores next, the time split and alerts last, except
that alerts in progress are named in the note so they are never missed.

The heights of the workers row (``middle``) and of the time split and alerts
(``bottom``) are given in rows, not left to fractions: with minimum heights
on both, fractions can hand the workers more than is left and push the
alerts off the screen without a word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

MIDDLE_MIN = 6  # workers and queue: border + 4 lines
BOTTOM_MIN = 6  # time split and alerts: border + 4 lines
BOTTOM_MAX = 16
MIN_COLS = 80
NAMES = {"cores": "Cores", "bottom": "Time split, Alerts", "middle": "Workers, Queue"}


@dataclass(frozen=True)
class Plan:
    hidden: Tuple[str, ...] = ()
    note: str = ""
    middle: int = 0  # rows for workers and queue (0: hidden)
    bottom: int = 0  # rows for the time split and alerts (0: hidden)


def split(rest: int, hidden: Tuple[str, ...]) -> Tuple[int, int]:
    """(middle, bottom) rows out of ``rest``: the bottom a third (at least
    ``BOTTOM_MIN``, at most ``BOTTOM_MAX``), the workers the remainder.

    >>> split(12, ()), split(30, ()), split(60, ()), split(10, ("bottom",))
    ((6, 6), (20, 10), (44, 16), (10, 0))
    """
    if "middle" in hidden:
        return 0, (0 if "bottom" in hidden else max(BOTTOM_MIN, rest))
    if "bottom" in hidden:
        return max(MIDDLE_MIN, rest), 0
    bottom = min(BOTTOM_MAX, max(BOTTOM_MIN, rest // 3))
    return max(MIDDLE_MIN, rest - bottom), bottom


def plan(rows: int, cols: int, fixed: int, cores: int, alerts: int = 0) -> Plan:
    """``fixed``: rows always shown; ``cores``: the cores panel's rows; ``alerts``: active alerts."""
    hidden = []
    need = {"middle": MIDDLE_MIN, "cores": cores, "bottom": BOTTOM_MIN}
    if sum(need.values()) <= rows - fixed:
        middle, bottom = split(rows - fixed - cores, ())
        return Plan(middle=middle, bottom=bottom)
    free = rows - fixed - 1  # a row for the note itself
    for name in ("cores", "bottom", "middle"):
        if sum(v for k, v in need.items() if k not in hidden) <= free:
            break
        hidden.append(name)
    text = ", ".join(NAMES[h] for h in hidden)
    if alerts and "bottom" in hidden:
        text += " (%d active)" % alerts
    text += " hidden (needs %dx%d)" % (max(cols, MIN_COLS), fixed + sum(need.values()))
    rest = free - (0 if "cores" in hidden else cores)
    middle, bottom = split(rest, tuple(hidden))
    return Plan(tuple(hidden), text, middle, bottom)
