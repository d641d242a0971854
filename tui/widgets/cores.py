"""Cores: every logical CPU of the machine, the run's share, and what is usable.

    total ▕████████▌      ▏ 56%  run tree 187% = 1.9 cores  CPUs 2 logical · 2 usable
    0 ██████████████▋      93%  1 ▏                     4%

From 2 to 256 cores in 80 columns: cells shrink from bar+percent to
percent+glyph to one glyph per core (see ``execscope.tui.grid``); the box grows
rather than drop a core.
"""

from __future__ import annotations

from rich.text import Text

from ..fmt import hbar, level_glyph, level_style
from ..grid import plan_grid
from .panel import Panel


class CoresPanel(Panel):
    PANEL = "cores"
    TITLE = "Cores"
    SCROLLBAR_ROOM = 0  # the box grows to fit every core instead of scrolling

    def max_rows(self) -> int:
        height = self.screen.size.height if self.is_attached else 24
        return max(2, min(12, height // 6))

    def render_body(self, width: int) -> Text:
        snap = self.snap
        if snap is None or not snap.cpu.per_core:
            return Text("waiting for the first CPU sample…", style="dim")
        cpu = snap.cpu
        text = self._summary(snap, width)
        per_core = cpu.per_core
        grid = plan_grid(len(per_core), width, self.max_rows())
        if grid.mode == "block":
            self._blocks(text, per_core, grid)
        else:
            self._cells(text, per_core, grid)
        return text

    def _summary(self, snap, width: int) -> Text:
        """``total ▕bar▏ 56%  run 187% = 1.9 cores  CPUs 2 logical · 2 usable``, to fit."""
        cpu = snap.cpu
        logical = cpu.logical_cpus or len(cpu.per_core)
        usable = cpu.usable_cpus or logical
        limited = usable < logical
        quota = " quota %.2g" % cpu.cgroup_cpu_limit if cpu.cgroup_cpu_limit else ""
        wide = width >= 76 + len(str(logical)) * 2 + len(quota)
        bar_w = 16 if wide else 6
        text = Text()
        text.append("total ")
        text.append(hbar(cpu.total_percent, 100, bar_w), style=level_style(cpu.total_percent))
        text.append(" %3d%%" % round(cpu.total_percent), style="bold")
        text.append("  run " if wide else "  run ", style="dim")
        text.append("%d%%" % round(cpu.tree_percent), style="bold")
        text.append(" = %.1f cores" % (cpu.tree_percent / 100.0), style="dim")
        if wide:
            text.append("  CPUs %d logical · " % logical, style="dim")
            text.append("%d usable" % usable, style="bold yellow" if limited else "")
        else:
            text.append("  CPUs ", style="dim")
            text.append("%d" % usable, style="bold yellow" if limited else "")
            text.append("/%d usable" % logical, style="dim")
        if quota:
            text.append(quota, style="yellow")
        if limited:
            text.append(" ⚠", style="yellow")
        text.append("\n")
        return text

    def _cells(self, text: Text, per_core, grid) -> None:
        n = len(per_core)
        lw = grid.label_width
        for r in range(grid.rows):
            for c in range(grid.cols):
                i = c * grid.rows + r  # column-major, like htop: 0..k down the first column
                if i >= n:
                    break
                if c:
                    text.append(" ")
                value = per_core[i]
                style = level_style(value)
                if grid.mode == "graph":
                    bar_w = grid.cell_width - lw - 1 - 5
                    text.append("%*d " % (lw, i), style="dim")
                    text.append(hbar(value, 100, bar_w), style=style)
                    text.append("%4d%%" % round(value), style=style)
                else:
                    text.append("%*d " % (lw, i), style="dim")
                    text.append(level_glyph(value), style=style)
                    text.append("%3d" % round(value), style=style)
            if r < grid.rows - 1:
                text.append("\n")

    def _blocks(self, text: Text, per_core, grid) -> None:
        n = len(per_core)
        lw = grid.label_width
        for start in range(0, n, grid.per_row):
            if start:
                text.append("\n")
            text.append("%*d " % (lw, start), style="dim")
            for i in range(start, min(n, start + grid.per_row)):
                if i > start and (i - start) % 8 == 0:
                    text.append(" ")
                value = per_core[i]
                text.append(level_glyph(value), style=level_style(value))
