"""Where the time goes: a task's mean time split by phase, as one stacked bar.

    ░░░░░░▒▒▒▒▓▓▓▚▚▚▚▚█▞▞▞▞▞  112ms per task
    ░ queue 34ms ▒ pickle 21ms ▓ send 13ms ▚ unpickle 27ms █ compute 150µs ▞ result 21ms
    IPC 99.8% of service time · → 8.0 MiB/task · ← 21 B/task

Each phase has its own fill character as well as its colour, so the bar reads
the same without colour.
"""

from __future__ import annotations

from typing import List, Tuple

from rich.text import Text

from execscope.families import is_isolated

from ..fmt import fmt_bytes, fmt_s, wrap
from ..sources import kinds
from .panel import Panel

# (name, fill, style)
PHASES = (
    ("queue", "░", "yellow"),
    ("pickle", "▒", "magenta"),
    ("send", "▓", "bright_magenta"),
    ("unpickle", "▚", "blue"),
    ("compute", "█", "green"),
    ("result", "▞", "cyan"),
)


def phase_values(b) -> List[Tuple[str, str, str, float]]:
    values = (b.queue, b.ser, b.xfer, b.deser, b.compute, b.rser + b.rxfer + b.rdeser)
    return [(name, fill, style, v) for (name, fill, style), v in zip(PHASES, values)]


def phases_sampled(snap) -> str:
    """"phases of 1 call in 16" when a pool timed only a sample of its
    calls (the means above are that sample's); "" when it timed every one.

    >>> class S: observer = {"instrumentation": {"phases_timed": 125, "calls": 2000}}
    >>> phases_sampled(S())
    'phases of 1 call in 16'
    >>> S.observer = {"instrumentation": {"phases_timed": 50, "calls": 50}}
    >>> phases_sampled(S())
    ''
    """
    figures = (getattr(snap, "observer", None) or {}).get("instrumentation") or {}
    timed, calls = figures.get("phases_timed"), figures.get("calls")
    if not timed or not calls or timed >= calls:
        return ""
    return "phases of 1 call in %d" % round(calls / timed)


def split_widths(values: List[float], width: int) -> List[int]:
    """Cells per segment: proportional, every non-zero segment at least one cell.

    >>> split_widths([1.0, 0.0, 3.0], 8)
    [2, 0, 6]
    >>> sum(split_widths([0.001, 5.0, 0.002], 10))
    10
    """
    total = sum(values)
    if total <= 0 or width <= 0:
        return [0] * len(values)
    cells = [max(1, int(round(v / total * width))) if v > 0 else 0 for v in values]
    # take the surplus from (or give the deficit to) the biggest segment
    biggest = max(range(len(values)), key=lambda i: values[i])
    cells[biggest] += width - sum(cells)
    if cells[biggest] < 1:
        cells[biggest] = 1
    return cells


def pack(text: Text, items: List[Text], width: int, gap: int = 2) -> None:
    """Append ``items`` to ``text`` in lines of at most ``width``, never splitting one."""
    used = 0
    for item in items:
        need = item.cell_len + (gap if used else 0)
        if used and used + need > width:
            text.append("\n")
            used, need = 0, item.cell_len
        elif used:
            text.append(" " * gap)
        text.append_text(item)
        used += need
    text.append("\n")


class BreakdownPanel(Panel):
    PANEL = "breakdown"
    TITLE = "Where the time goes"

    COVERS = ("breakdown", "ipc")

    def render_body(self, width: int) -> Text:
        snap = self.snap
        missing = self.unavailable()
        if missing:
            text = Text()
            self.unavailable_head(text, width, missing)
            self.unavailable_why(text, width, missing)
            text.rstrip()
            return text
        if snap is None or not snap.breakdown.tasks:
            return Text("no task finished yet", style="dim")
        b = snap.breakdown
        phases = phase_values(b)
        total = sum(v for *_, v in phases)
        label = " %s/task" % fmt_s(total)
        bar_w = max(8, width - len(label))
        text = Text()
        for (name, fill, style, value), cells in zip(phases, split_widths([v for *_, v in phases], bar_w)):
            text.append(fill * cells, style=style)
        text.append(label, style="bold")
        text.append("\n")
        legend = []
        for name, fill, style, value in phases:
            if value > 0 or name in ("queue", "compute"):
                item = Text()
                item.append(fill, style=style)
                item.append(" %s %s" % (name, fmt_s(value)))
                legend.append(item)
        pack(text, legend, width)
        pools = kinds(snap)
        if any(is_isolated(k) for k in pools):  # tasks are pickled across to the workers
            share = b.ipc_share
            line = Text()
            line.append("IPC ", style="dim")
            line.append("%.1f%%" % (share * 100), style="bold red" if share > 0.5 else "bold")
            if width >= 60:
                line.append(" of service time", style="dim")
            items = [line, Text("→ %s ← %s a task" % (fmt_bytes(b.bytes_out), fmt_bytes(b.bytes_in)))]
            sampled = phases_sampled(snap)
            if sampled:
                items.append(Text(sampled, style="dim"))
            pack(text, items, width, gap=1)
            if len(pools) > 1:
                wrap(text, "summed over %s pools: e shows one at a time" % " and ".join(reversed(pools)),
                     width, style="dim")
        elif pools:
            wrap(text, "%s: shared memory, nothing is pickled" %
                 ("serial" if pools == ("serial",) else "threads"), width, style="dim")
        text.rstrip()
        return text
