"""Queue: depth, running and completed over time, throughput and latency.

    queued  170      ▇▇▆▆▅▅▄▄▃▃
    running 4        ██████████
    done    457/631  ▁▂▂▃▄▅▅▆▇█
    tasks/s 111/s    ▃▅▆▆▇▇▇▆▇▇
    mean 98/s · p50 320ms p95 590ms p99 620ms

Attached to a running process there is no queue to read and no task to
count: the panel shows the workers running and blocked (from their stacks)
and says why the rest is missing.
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

    COVERS = ("queue", "tasks")

    def render_body(self, width: int) -> Text:
        snap = self.snap
        if snap is None:
            return Text("no run yet", style="dim")
        missing = self.unavailable()
        if missing:
            return self._states_only(snap, width, missing)
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

    def _states_only(self, snap, width: int, missing) -> Text:
        """Attach mode: what the workers' stacks say (running, blocked), and why the rest is missing."""
        c = snap.counts
        hist = list(self.history)[-max(4, width - LABEL - 8):] or [snap]
        text = Text()
        self.unavailable_head(text, width, missing)
        top = snap.max_workers or max([s.counts.running + s.counts.blocked for s in hist] + [1])
        for label, value, series, style in (
                ("running", c.running, [s.counts.running for s in hist], "green"),
                ("blocked", c.blocked, [s.counts.blocked for s in hist], "red" if c.blocked else "dim")):
            text.append(label.ljust(LABEL), style="dim")
            text.append(("%d" % value).ljust(8), style="bold")
            text.append(spark(series, max(4, width - LABEL - 8), top), style=style)
            text.append("\n")
        wrap(text, "(worker states, read from their stacks)", width, style="dim italic")
        self.unavailable_why(text, width, missing)
        text.rstrip()
        return text
