"""The compare view: one workload under serial, thread and each start method.

Rows fill in one at a time (each a full run, one after another, so the runs
never compete for the CPU), with bars for tasks/s, the speedup over serial,
p95 latency, the IPC share and the CPU the run used; the last line answers
the article's question for this machine.
"""

from __future__ import annotations

from typing import List, Optional

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from execscope.errors import UsageError
from execscope.model import RunConfig

from ..comparison import CompareRow, CompareRun, compare_configs, verdict
from ..widgets.compare_table import CompareTable


class CompareScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="Back to the live run (the comparison stops)"),
        Binding("r", "rerun", "Run again", tooltip="Run the whole comparison again"),
        Binding("s", "stop", "Stop", tooltip="Stop the comparison (finished rows stay)"),
    ]

    class Progress(Message):
        def __init__(self, run: CompareRun) -> None:
            super().__init__()
            self.run = run

    def __init__(self, config: RunConfig, configs: Optional[List[RunConfig]] = None,
                 standalone: bool = False) -> None:
        """Compare ``config``'s workload under every executor, or run ``configs``
        (a plan of ``execscope compare``).  ``standalone``: the app opened on
        this view, so leaving it quits."""
        super().__init__()
        self.base = config
        self.configs = list(configs) if configs else None
        self.standalone = standalone
        self.run: Optional[CompareRun] = None
        self._pending = False
        try:
            from execscope.workloads import catalog

            w = catalog().get(config.workload)
            if w is not None and config.tasks is None:
                self.base = config.with_(tasks=w.default_tasks)
        except Exception:
            pass
        # same amount of work for every row: a duration would hide the difference
        self.base = self.base.with_(duration=None)
        self.error = ""

    def compose(self) -> ComposeResult:
        yield Static(id="compare-title")
        yield CompareTable(id="compare-table")
        yield Static(id="compare-verdict")
        yield Static("Each row is a separate run, one after another, same tasks and "
                     "worker count. CPU is the run's process tree, in % of one core.",
                     classes="hint")
        yield Footer()

    def on_mount(self) -> None:
        self.action_rerun()

    def _title(self) -> Text:
        cfg = self.base
        text = Text()
        text.append(" Compare ", style="bold reverse")
        text.append(" %s" % cfg.workload, style="bold")
        size = ("%d tasks" % cfg.tasks) if cfg.tasks else ("%gs each" % cfg.duration if cfg.duration else "")
        if size:
            text.append(" · " + size)
        if cfg.params:
            text.append(" · " + " ".join("%s=%s" % kv for kv in cfg.params.items()), style="dim")
        run = self.run
        if run is not None:
            done = sum(1 for r in run.rows if r.done)
            text.append("  %d/%d runs" % (done, len(run.rows)), style="dim")
        return text

    def action_rerun(self) -> None:
        if self.run is not None:
            self.run.stop()
        try:
            rows = [CompareRow(c.label, c) for c in self.configs] if self.configs else compare_configs(self.base)
        except UsageError as exc:
            rows, self.error = [], str(exc)
        run = CompareRun(rows, notify=lambda: None, factory=self.app.compare_factory,
                         refresh_hz=min(self.app.refresh_hz, 5.0), registry=self.app.registry)
        run.notify = lambda: self._notify(run)
        self.run = run
        self.app.compare_run = run
        self._refresh()
        run.begin()

    def _notify(self, run: CompareRun) -> None:
        if not self._pending:
            self._pending = True
            self.post_message(self.Progress(run))

    @on(Progress)
    def _progress(self, message: Progress) -> None:
        self._pending = False
        if message.run is self.run:
            self._refresh()

    def _refresh(self) -> None:
        run = self.run
        rows = run.rows if run else []
        with self.app.batch_update():
            self.query_one("#compare-title", Static).update(self._title())
            self.query_one(CompareTable).show(rows)
            text = Text()
            text.append("▸ ", style="bold")
            text.append(self.error or verdict(rows, self.base.workload), style="bold")
            self.query_one("#compare-verdict", Static).update(text)

    def action_stop(self) -> None:
        if self.run is not None:
            self.run.stop()

    def action_back(self) -> None:
        self.action_stop()
        if self.standalone:
            self.app.exit()
        else:
            self.app.pop_screen()

    def on_unmount(self) -> None:
        if self.run is not None:
            self.run.stop()
