"""How to lay out N logical cores in a box: the btop/htop way, as a pure function.

Cells shrink as cores grow: a bar with the percent, then the percent with a
level glyph, then one glyph per core (in groups of eight, each row labelled
with its first core).  If even that does not fit the rows the box may use,
the box grows: a core is never dropped.

    >>> plan_grid(2, 78, 4).mode, plan_grid(2, 78, 4).cols
    ('graph', 2)
    >>> g = plan_grid(256, 78, 4); g.mode, g.rows, g.per_row
    ('block', 4, 64)
    >>> g = plan_grid(128, 78, 4); g.mode, g.rows, g.per_row
    ('block', 2, 64)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GRAPH_MIN = 12  # label + space + bar of at least 6 + " 100%"
GAP = 1
GROUP = 8  # block mode: cores per group


@dataclass(frozen=True)
class Grid:
    mode: str  # graph | percent | block
    cols: int  # cells per row (block mode: cores per row)
    rows: int
    cell_width: int  # graph / percent: width of one cell
    label_width: int  # digits of the largest core index

    @property
    def per_row(self) -> int:
        return self.cols


def _label_width(n: int) -> int:
    return len(str(max(0, n - 1)))


def plan_grid(n: int, width: int, max_rows: int) -> Grid:
    """Choose the densest readable layout of ``n`` cores in ``width`` x ``max_rows``."""
    n = max(1, n)
    width = max(8, width)
    max_rows = max(1, max_rows)
    lw = _label_width(n)

    # graph: bar + percent; as few rows as keep each cell at least GRAPH_MIN + label wide
    graph_min = lw + GRAPH_MIN
    cols = max(1, min(n, (width + GAP) // (graph_min + GAP)))
    rows = math.ceil(n / cols)
    if rows <= max_rows:
        # spread the cores evenly over the rows that are needed
        cols = math.ceil(n / rows)
        cell = (width - GAP * (cols - 1)) // cols
        return Grid("graph", cols, rows, cell, lw)

    # percent: "12 ▆ 87" (label, space, glyph, 3-digit percent)
    pct_w = lw + 5
    cols = max(1, (width + GAP) // (pct_w + GAP))
    rows = math.ceil(n / cols)
    if rows <= max_rows:
        cols = math.ceil(n / rows)
        return Grid("percent", cols, rows, pct_w, lw)

    # block: "  0 ▁▂▃▄▅▆▇█ ▁▂▃▄▅▆▇█ ..." one glyph per core, groups of eight
    groups = max(1, (width - lw - 1 + 1) // (GROUP + 1))
    per_row = groups * GROUP
    rows = math.ceil(n / per_row)
    # as many groups per row as fit, then even the rows out (64 + 64, not 72 + 56)
    per_row = GROUP * math.ceil(math.ceil(n / rows) / GROUP)
    return Grid("block", per_row, rows, 1, lw)
