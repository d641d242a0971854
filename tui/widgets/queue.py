"""Queue: depth, running and completed over time, throughput and latency.

    queued  170      ▇▇▆▆▅▅▄▄▃▃
    running 4        ██████████
    done    457/631  ▁▂▂▃▄▅▅▆▇█
    tasks/s 111/s    ▃▅▆▆▇▇▇▆▇▇
    mean 98/s · p50 320ms p95 590ms p99 620ms
"""

from __future__ import annotations

from rich.text import Text

from execscope.metrics import spark

from ..fmt import fmt_rate, fmt_s, wrap
from .panel import Panel

LABEL = 8


class QueuePanel(Panel):
    PANEL = "queue"
    TITLE = "Queue"

    def render_body(self, width: int) -> Text:
        snap = self.snap
        if snap is None:
            return Text("no run yet", style="dim")
        c = snap.counts
        done = "%d" % c.finished
        if snap.expected_tasks:
            done += "/%d" % snap.expected_tasks
        values = {
            "queued": "%d" % c.queued,
            "running": "%d" % c.running + (" ‖%d" % c.blocked if c.blocked else ""),
            "done": done,
            "tasks/s": fmt_rate(snap.throughput_per_s),
        }
        value_w = max(len(v) for v in values.values()) + 1
        spark_w = max(4, width - LABEL - value_w)
        hist = list(self.history)[-spark_w:] or [snap]
        text = Text()

        def row(label: str, series, style: str, top=None) -> None:
            text.append(label.ljust(LABEL), style="dim")
            text.append(values[label].ljust(value_w), style="bold")
            text.append(spark(series, spark_w, top), style=style)
            text.append("\n")

        row("queued", [s.counts.queued for s in hist], "yellow" if c.queued else "dim")
        top = snap.max_workers or max([s.counts.running + s.counts.blocked for s in hist] + [1])
        row("running", [s.counts.running + s.counts.blocked for s in hist],
            "red" if c.blocked else "green", top)
        row("done", [s.counts.finished for s in hist], "cyan", snap.expected_tasks or None)
        row("tasks/s", [s.throughput_per_s for s in hist], "bold cyan")
        tail = "mean %s" % fmt_rate(snap.mean_throughput_per_s)
        if c.failed:
            tail += " · ✗ %d failed" % c.failed
        if snap.breakdown.tasks:
            p50, p95, p99 = snap.latency_s
            tail += " · p50 %s p95 %s p99 %s" % (fmt_s(p50), fmt_s(p95), fmt_s(p99))
        if snap.mode == "map" and snap.chunksize:
            tail += " · map chunksize %d" % snap.chunksize
        wrap(text, tail, width)
        text.rstrip()
        return text
