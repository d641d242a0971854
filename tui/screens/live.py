"""The live run screen: header, tour line, cores, workers, queue, time split, alerts.

A run's snapshots arrive on the session's ticker thread; ``LiveRun`` keeps
the newest and posts one ``RunUpdated`` at a time, and this screen applies the
newest snapshot to every panel inside ``batch_update`` (one repaint per
frame, however many snapshots arrived).  The tour is a list of steps this
screen walks: each step starts its run; ``execscope demo`` walks it on a
timer.
"""

from __future__ import annotations

import time
from typing import List, Optional

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from execscope.model import RunConfig

from ..runs import LiveRun
from ..tour_steps import TourStep, tour_steps
from ..widgets.alerts import AlertsPanel
from ..widgets.breakdown import BreakdownPanel
from ..widgets.cores import CoresPanel
from ..widgets.queue import QueuePanel
from ..widgets.run_header import RunHeader
from ..widgets.tour_banner import TourBanner
from ..widgets.workers import WorkersPanel

EXECUTOR_CYCLE = ("serial", "thread", "process")
STALE_S = 3.0
# Repaints per second at most, whatever the snapshot rate: drawing is what the
# TUI costs, and a dashboard read by eye gains nothing above this.  Snapshots
# still arrive at --refresh and all of them feed the sparklines.
MAX_FPS = 4.0


class LiveScreen(Screen):
    BINDINGS = [
        Binding("p", "picker", "Pick", tooltip="Choose workload, executor, workers and parameters"),
        Binding("s", "stop", "Stop", tooltip="Stop the run now (what was measured stays on screen)"),
        Binding("r", "restart", "Restart", tooltip="Run the same scenario again"),
        Binding("c", "compare", "Compare", tooltip="This workload under every executor, side by side"),
        Binding("x", "cycle_executor", "Executor", show=False, tooltip="Switch serial → thread → process and restart"),
        Binding("plus", "workers(1)", "+1 worker", show=False, tooltip="One more worker, and restart"),
        Binding("minus", "workers(-1)", "-1 worker", show=False, tooltip="One worker fewer, and restart"),
        Binding("n", "next_step", "Next", tooltip="Tour: go to the next step"),
        Binding("b", "prev_step", "Back", show=False, tooltip="Tour: go back one step"),
        Binding("t", "tour", "Tour", show=False, tooltip="Start the guided tour of the claims, or leave it"),
    ]

    class RunUpdated(Message):
        """A run has a new snapshot (or ended); the screen takes the newest."""

        def __init__(self, run: LiveRun) -> None:
            super().__init__()
            self.run = run

    def __init__(self, config: Optional[RunConfig] = None, *, tour: bool = False,
                 steps: Optional[List[TourStep]] = None, auto_s: Optional[float] = None) -> None:
        super().__init__()
        self.initial = config
        self.config: Optional[RunConfig] = config
        self.steps = list(steps if steps is not None else tour_steps())
        self.step: Optional[int] = 0 if tour else None
        self.auto_s = auto_s
        self.run: Optional[LiveRun] = None
        self._auto_timer = None
        self._last_data = 0.0  # app.clock() when the newest snapshot arrived
        self._last_paint = 0.0  # time.monotonic() of the last repaint
        self._paint_timer = None

    # -- layout ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield TourBanner(id="tour")
        yield Static(id="notice", markup=False)
        yield CoresPanel(id="cores")
        with Horizontal(id="middle"):
            yield WorkersPanel(id="workers")
            yield QueuePanel(id="queue")
        with Horizontal(id="bottom"):
            yield BreakdownPanel(id="breakdown")
            yield AlertsPanel(id="alerts")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(1.0, self._check_stale)
        if self.step is not None:
            self.go_to_step(0)
        elif self.config is not None:
            self.start_run(self.config)
        else:
            self.query_one(RunHeader).show(None, None, note="idle")

    @property
    def panels(self):
        return self.query("#cores, #workers, #queue, #breakdown, #alerts")

    # -- runs --------------------------------------------------------------------

    def start_run(self, config: RunConfig) -> None:
        """Stop the current run (if any) and start ``config``."""
        if self.run is not None:
            self.run.stop()
        self.config = config
        self.set_notice("")
        run = LiveRun(config, notify=lambda: None, factory=self.app.session_factory,
                      refresh_hz=self.app.refresh_hz, registry=self.app.registry)
        run.notify = lambda: self.post_message(self.RunUpdated(run))
        self.run = run
        self.app.current_run = run
        self.query_one(RunHeader).show(None, config)
        self._last_data = self.app.clock()
        with self.app.batch_update():
            for panel in self.panels:
                panel.show(None)
                panel.set_alerts(())
        run.begin()

    @on(RunUpdated)
    def _updated(self, message: RunUpdated) -> None:
        if message.run is not self.run:
            return  # a run we already left
        wait = self._last_paint + 1.0 / MAX_FPS - time.monotonic()
        if wait > 0 and not message.run.closed.is_set():
            # too soon: paint once the frame is due (the run posts nothing
            # more until then, since nothing has taken its snapshot)
            if self._paint_timer is None:
                self._paint_timer = self.set_timer(wait, self._paint_due)
            return
        self._apply(message.run)

    def _paint_due(self) -> None:
        self._paint_timer = None
        if self.run is not None:
            self._apply(self.run)

    def _apply(self, run: LiveRun) -> None:
        self._last_paint = time.monotonic()
        snap = run.take()
        history = list(run.history)
        self._last_data = self.app.clock()
        with self.app.batch_update():
            if run.error:
                self.set_notice("✗ " + run.error)
                self.query_one(RunHeader).show(snap, run.config, note="" if snap else "not started")
            else:
                self.query_one(RunHeader).show(snap, run.config)
            if snap is None:
                return
            alerts = snap.active_alerts
            for panel in self.panels:
                panel.show(snap, history)
                panel.set_alerts(alerts)

    def _check_stale(self) -> None:
        """Say so when a running run has sent nothing for a while (a stuck link or runner)."""
        run = self.run
        if run is None or run.finished or run.error:
            return
        quiet = self.app.clock() - self._last_data
        header = self.query_one(RunHeader)
        note = "no data for %ds" % quiet if quiet >= STALE_S else ""
        if note != header.note:
            header.show(run.latest, run.config, note=note)

    def set_notice(self, text: str) -> None:
        notice = self.query_one("#notice", Static)
        notice.update(text)
        notice.set_class(bool(text), "-on")

    # -- actions -----------------------------------------------------------------

    def action_stop(self) -> None:
        if self.run is not None and not self.run.finished:
            self.run.stop()
            self.notify("stopping the run…", timeout=2)

    def action_restart(self) -> None:
        if self.config is not None:
            self.start_run(self.config)
        else:
            self.action_picker()

    def action_picker(self) -> None:
        from .picker import PickerScreen

        def picked(result) -> None:
            if not result:
                return
            what, config = result
            if what == "compare":
                self.app.push_screen(self._compare_screen(config))
            else:
                self.leave_tour()
                self.start_run(config)

        self.app.push_screen(PickerScreen(self.config), picked)

    def _compare_screen(self, config: RunConfig):
        from .compare import CompareScreen

        return CompareScreen(config)

    def action_compare(self) -> None:
        config = self.config or RunConfig("cpu")
        self.app.push_screen(self._compare_screen(config))

    def action_cycle_executor(self) -> None:
        if self.config is None:
            return
        cfg = self.config
        i = EXECUTOR_CYCLE.index(cfg.executor) if cfg.executor in EXECUTOR_CYCLE else 0
        kind = EXECUTOR_CYCLE[(i + 1) % len(EXECUTOR_CYCLE)]
        workers = None if kind == "serial" else cfg.workers
        method = cfg.start_method if kind == "process" else None
        self.start_run(cfg.with_(executor=kind, workers=workers, start_method=method))

    def action_workers(self, step: int) -> None:
        cfg = self.config
        if cfg is None or cfg.executor == "serial":
            return
        current = cfg.workers or (self.run.latest.max_workers if self.run and self.run.latest else None) or 1
        self.start_run(cfg.with_(workers=max(1, current + step)))

    # -- tour --------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> Optional[bool]:
        if action in ("next_step", "prev_step"):
            return self.step is not None
        return True

    def go_to_step(self, index: int) -> None:
        if not self.steps:
            return
        if index >= len(self.steps):
            if self.auto_s:
                self.app.action_quit()
                return
            index = len(self.steps) - 1
        index = max(0, index)
        self.step = index
        step = self.steps[index]
        self.query_one(TourBanner).show_step(step, index, len(self.steps), self.auto_s)
        self.refresh_bindings()
        self.start_run(step.config)
        if self.auto_s:
            if self._auto_timer is not None:
                self._auto_timer.stop()
            self._auto_timer = self.set_timer(self.auto_s, self.action_next_step)

    def leave_tour(self) -> None:
        if self.step is None:
            return
        self.step = None
        if self._auto_timer is not None:
            self._auto_timer.stop()
            self._auto_timer = None
        self.query_one(TourBanner).show_step(None, 0, 0, None)
        self.refresh_bindings()

    def action_next_step(self) -> None:
        if self.step is not None:
            self.go_to_step(self.step + 1)

    def action_prev_step(self) -> None:
        if self.step is not None:
            self.go_to_step(self.step - 1)

    def action_tour(self) -> None:
        if self.step is None:
            self.go_to_step(0)
        else:
            self.leave_tour()
