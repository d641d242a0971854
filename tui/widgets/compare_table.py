"""The compare table: one row per executor, bars for what matters.

    executor            status      tasks/s                    vs serial   p95     IPC   CPU
    serial              ✓ 1.05s     █████▍           105/s       1.00x     9.5ms    0%   99%
    process/fork x2     ▶ 40%       ██████████▊      203/s       1.93x    10.1ms    3%  190%

Each figure is printed as a number beside its bar: the bar is for the eye, the
number carries the meaning.
"""

from __future__ import annotations

from typing import List, Sequence

from rich.text import Text
from textual.widget import Widget

from ..comparison import CompareRow, speedup
from execscope import compare

from ..fmt import STATUS, fmt_rate, fmt_s, hbar, wrap
from .resized import Resized


def _status(row: CompareRow) -> tuple:
    if row.status == "queued":
        return "· queued", "dim"
    if row.status == "skipped":
        return "- skipped", "dim"
    if row.status == "error":
        return "✗ error", "bold red"
    if row.status == "running":
        snap = row.snap
        if snap and snap.expected_tasks:
            return "▶ %d%%" % (100 * snap.counts.finished // max(1, snap.expected_tasks)), "bold green"
        return "▶ %.1fs" % (snap.run_elapsed_s if snap else 0.0), "bold green"
    symbol, style = STATUS.get(row.status, ("?", ""))
    if row.status == "completed":
        return "%s %s" % (symbol, fmt_s(row.wall_s)), style
    return "%s %s" % (symbol, row.status), style


class CompareTable(Widget):
    DEFAULT_CSS = """
    CompareTable { height: auto; }
    """

    def __init__(self, head: str = "executor", **kw) -> None:
        super().__init__(**kw)
        self.head = head  # what a row is: an executor (compare view) or a named run (a tour step)
        self.rows: List[CompareRow] = []

    def show(self, rows: Sequence[CompareRow]) -> None:
        self.rows = list(rows)
        self.refresh(layout=True)

    def on_resize(self) -> None:
        self.post_message(Resized())

    def render(self) -> Text:
        width = self.size.width or 80
        rows = self.rows
        label_w = max([len(self.head)] + [len(r.label) for r in rows]) + 1
        fixed = label_w + 11 + 8 + 8 + 9 + 6 + 6
        bar_w = max(4, min(40, width - fixed))
        top = max([r.throughput for r in rows] + [1e-9])
        text = Text()
        head = "%-*s%-11s%-*s %7s %7s %8s %5s %5s" % (
            label_w, self.head, "status", bar_w, "", "tasks/s", "speedup", "p95", "IPC", "CPU")
        text.append(head[:width] + "\n", style="bold")
        for row in rows:
            status, style = _status(row)
            text.append("%-*s" % (label_w, row.label), style="bold" if row.status == "running" else "")
            text.append("%-10s " % status[:10], style=style)
            has = row.snap is not None and row.throughput > 0
            text.append(hbar(row.throughput, top, bar_w) if has else " " * bar_w, style="cyan")
            text.append(" %7s" % (fmt_rate(row.throughput) if has else "-"))
            up = speedup(row, rows)
            text.append(" %7s" % ("%.2fx" % up if up is not None else "-"),
                        style="bold green" if up and up > 1.2 else ("bold red" if up and up < 0.8 else ""))
            text.append(" %8s" % fmt_s(row.p95) if row.p95 is not None else " %8s" % "-")
            ipc = row.ipc_share
            text.append(" %5s" % ("%d%%" % round(ipc * 100) if ipc is not None else "-"),
                        style="bold red" if ipc and ipc > 0.5 else "")
            cpu = row.cpu_percent
            text.append(" %5s" % ("%d%%" % round(cpu) if cpu is not None else "-"))
            if row.error:
                text.append("\n  " + row.error, style="red")
            text.append("\n")
        short = [r.label for r in rows if r.done and r.snap is not None and r.cpu_percent is None]
        if short:
            note = ("CPU -: %s ran under %.1fs; CPU is sampled about 10 times a second from outside, "
                    "too few readings for a mean" % (", ".join(short), compare.MIN_CPU_WALL_S))
            wrap(text, note, width, style="dim")
        text.rstrip()
        return text
