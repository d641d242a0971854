"""The live run screen: header, tour line, cores, workers, queue, time split, alerts.

Program and attach runs (``execscope run -- python prog.py``, ``execscope
attach PID``) add an executor line (``e`` shows one executor at a time, or all
summed) and, for a program, its own output; the keys that would start a
built-in workload are switched off for them (hidden from footer and palette).

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

from ..sources import Focus, source_of
from ..runs import LiveRun
from ..tour_steps import TourStep, default_steps
from ..tour_walk import StepWalk
from ..widgets.alerts import AlertsPanel, has_more
from ..widgets.breakdown import BreakdownPanel
from ..widgets.compare_table import CompareTable
from ..widgets.cores import CoresPanel
from ..widgets.executor_bar import ExecutorBar
from ..widgets.output import OutputPanel
from ..widgets.queue import QueuePanel
from ..widgets.resized import Resized
from ..widgets.run_header import RunHeader
from ..widgets.tour_banner import TourBanner
from ..widgets.workers import WorkersPanel

EXECUTOR_CYCLE = ("serial", "thread", "process")
# Keys that start a built-in workload: they do not apply to a program or an attached process.
RUNNER_ONLY = frozenset({"picker", "restart", "compare", "cycle_executor", "workers", "tour",
                         "next_step", "prev_step"})
STALE_S = 3.0
SHORT_ROWS = 30  # below this many rows the program output panel shows only its newest line
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
        # off the footer (80 columns hold no more keys); the Alerts panel's title names it
        Binding("a", "alerts", "Alerts", show=False, tooltip="Every alert whole: message, all the evidence, remedy"),
        Binding("e", "executor(1)", "Next executor",
                tooltip="Show the program's next executor on its own (then all of them)"),
        Binding("E", "executor(-1)", "Previous executor", show=False,
                tooltip="Show the program's previous executor on its own"),
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
        self.steps = list(steps if steps is not None else default_steps())
        self.step: Optional[int] = 0 if tour else None
        self.auto_s = auto_s
        self.run: Optional[LiveRun] = None
        self._auto_timer = None
        self._last_data = 0.0  # app.clock() when the newest snapshot arrived
        self._last_paint = 0.0  # time.monotonic() of the last repaint
        self._paint_timer = None
        self.focus_ex = Focus()  # program/attach runs: which executor the panels show
        self.walk: Optional[StepWalk] = None  # the tour step in progress: its rows and runs
        self._walk_run: Optional[LiveRun] = None  # the run of the walk that is live now
        self.verdicts: dict = {}  # claim -> tour.Check, for the steps walked to their end
        self._left_at = 0  # the step the tour was left at (t rejoins there)
        self._several = False
        self._has_alerts = False  # whether the a key applies (anything in the alerts panel to open)
        self._alerts_shown = 0  # whether the e key applies (refresh the footer when it changes)

    # -- layout ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield ExecutorBar(id="executors")
        yield TourBanner(id="tour")
        yield CompareTable(id="tour-rows", head="run")
        yield Static(id="notice", markup=False)
        yield Static(id="size-note", markup=False)
        yield CoresPanel(id="cores")
        with Horizontal(id="middle"):
            yield WorkersPanel(id="workers")
            yield QueuePanel(id="queue")
        yield OutputPanel(id="output")
        with Horizontal(id="bottom"):
            yield BreakdownPanel(id="breakdown")
            yield AlertsPanel(id="alerts")
        yield Footer()

    def on_resize(self, event) -> None:
        # a short terminal keeps one line of a program's output, for the workers' sake
        self.set_class(event.size.height < SHORT_ROWS, "-short")
        self.call_after_refresh(self.fit)

    @on(Resized)
    def _fixed_resized(self, event: Resized) -> None:
        event.stop()
        self.call_after_refresh(self.fit)

    def fit(self) -> None:
        """Give up whole panels when the terminal is too small for all of them (``layout``),
        never the header, the tour's lines or a step's rows, and say so in one line."""
        from ..layout import plan

        if not self.is_attached:
            return
        fixed = sum(w.outer_size.height for w in self.query("RunHeader, ExecutorBar, TourBanner, "
                                                                "#tour-rows, #notice, #output, Footer")
                    if w.display and w.styles.display != "none")
        cores = self.query_one("#cores")
        if cores.display:
            self._cores_rows = cores.outer_size.height or 4
        snap = self.run.latest if self.run is not None else None
        alerts = len(snap.active_alerts) if snap is not None else 0
        layout = plan(self.size.height, self.size.width, fixed, getattr(self, "_cores_rows", 4), alerts)
        for name in ("cores", "bottom", "middle"):
            self.query_one("#" + name).display = name not in layout.hidden
        for name, rows in (("middle", layout.middle), ("bottom", layout.bottom)):
            if rows:
                self.query_one("#" + name).styles.height = rows
        note = self.query_one("#size-note", Static)
        note.update(layout.note)
        note.display = bool(layout.note)

    def on_mount(self) -> None:
        self.set_class(self.app.size.height < SHORT_ROWS, "-short")
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

    @property
    def source(self) -> str:
        """runner (built-in or custom workload), program or attach."""
        return source_of(self.config)

    # -- runs --------------------------------------------------------------------

    def start_run(self, config: RunConfig) -> None:
        """Stop the current run (if any) and start ``config``."""
        if self.run is not None:
            self.run.stop()
        self.config = config
        self.focus_ex = Focus()
        self.set_notice("")
        self.set_class(self.source != "runner", "-outside")
        self.query_one(OutputPanel).set_class(self.source == "program", "-on")
        self.query_one(OutputPanel).show(None)
        self.query_one(ExecutorBar).show(None, 0, self.source)
        self.refresh_bindings()
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
        if run is self._walk_run and self.walk is not None:
            self._walk_progress(run, snap)
        with self.app.batch_update():
            if run.error:
                self.set_notice("✗ " + run.error)
                self.query_one(RunHeader).show(snap, run.config, note="" if snap else "not started")
            else:
                self.query_one(RunHeader).show(snap, run.config)
            if snap is None:
                return
            self._show(snap, history)

    def _show(self, snap, history) -> None:
        """Every panel from ``snap``, narrowed to the chosen executor when there is one."""
        view, view_history = self.focus_ex.view(snap, history)
        index, count = self.focus_ex.position(snap)
        self.query_one(ExecutorBar).show(snap, index, self.source)
        if self.source == "program":
            self.query_one(OutputPanel).show(snap)
        alerts = view.active_alerts
        if len(alerts) != self._alerts_shown:
            self._alerts_shown = len(alerts)
            self.call_after_refresh(self.fit)
        for panel in self.panels:
            panel.show(view, view_history)
            panel.set_alerts(alerts)
        several = self.source != "runner" and count >= 2
        if several != self._several or has_more(snap) != self._has_alerts:
            self._several = several
            self._has_alerts = has_more(snap)
            self.refresh_bindings()

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

    def set_notice(self, text: str, info: bool = False) -> None:
        """A line under the header: why a run could not start, or (info) a note about the picture."""
        notice = self.query_one("#notice", Static)
        notice.update(text)
        notice.set_class(bool(text), "-on")
        notice.set_class(info, "-info")
        self.call_after_refresh(self.fit)

    # -- actions -----------------------------------------------------------------

    def action_stop(self) -> None:
        if self.run is not None and not self.run.finished:
            self.run.stop()
            self.notify({"program": "stopping the program…",
                         "attach": "no longer watching (the process keeps running)"}.get(self.source,
                                                                                          "stopping the run…"),
                        timeout=2)

    def action_restart(self) -> None:
        if self.source != "runner":
            return  # a program or an attached process: nothing of ours to restart
        if self.step is not None:
            self.go_to_step(self.step)  # the tour step again, every run of it
        elif self.config is not None:
            self.start_run(self.config)
        else:
            self.action_picker()

    def action_picker(self) -> None:
        if self.source != "runner":
            return  # a program or an attached process: nothing of ours to restart
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
        if self.source != "runner":
            return  # a program or an attached process: nothing of ours to restart
        config = self.config or RunConfig("cpu")
        self.app.push_screen(self._compare_screen(config))

    def action_cycle_executor(self) -> None:
        if self.source != "runner":
            return  # a program or an attached process: nothing of ours to restart
        if self.config is None:
            return
        cfg = self.config
        i = EXECUTOR_CYCLE.index(cfg.executor) if cfg.executor in EXECUTOR_CYCLE else 0
        kind = EXECUTOR_CYCLE[(i + 1) % len(EXECUTOR_CYCLE)]
        workers = None if kind == "serial" else cfg.workers
        method = cfg.start_method if kind == "process" else None
        self.leave_tour()  # another scenario than the step's
        self.start_run(cfg.with_(executor=kind, workers=workers, start_method=method))

    def action_workers(self, step: int) -> None:
        if self.source != "runner":
            return  # a program or an attached process: nothing of ours to restart
        cfg = self.config
        if cfg is None or cfg.executor == "serial":
            return
        current = cfg.workers or (self.run.latest.max_workers if self.run and self.run.latest else None) or 1
        self.leave_tour()  # another scenario than the step's
        self.start_run(cfg.with_(workers=max(1, current + step)))

    # -- tour --------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> Optional[bool]:
        """False hides a key from the footer and the palette: the tour keys outside the
        tour; the keys that start built-in workloads while a program is shown; the
        executor key unless there are several executors to choose from."""
        if action in RUNNER_ONLY and self.source != "runner":
            return False
        if action in ("next_step", "prev_step"):
            return self.step is not None
        if action == "executor":
            return self._several
        if action == "alerts":
            return self._has_alerts
        return True

    def action_alerts(self) -> None:
        from .alert_detail import AlertDetailScreen

        snap = self.run.latest if self.run is not None else None
        if has_more(snap):
            self.app.push_screen(AlertDetailScreen(snap))

    def action_executor(self, step: int) -> None:
        run = self.run
        snap = run.latest if run is not None else None
        if snap is None:
            return
        self.focus_ex.cycle(snap, step)
        with self.app.batch_update():
            self._show(snap, list(run.history))

    def go_to_step(self, index: int) -> None:
        if not self.steps:
            return
        if index >= len(self.steps):
            if self.auto_s:
                self.app.action_quit()
                return
            self.show_summary()
            return
        index = max(0, index)
        self.step = index
        step = self.steps[index]
        self.walk = StepWalk(step)
        rows = self.query_one("#tour-rows", CompareTable)
        rows.set_class(step.comparative, "-on")
        rows.show(self.walk.rows)
        self.refresh_bindings()
        self._walk_next(self.walk)
        if self.auto_s:
            self._arm_auto()

    def _arm_auto(self) -> None:
        if self._auto_timer is not None:
            self._auto_timer.stop()
        self._auto_timer = self.set_timer(self.auto_s, self._auto_due)

    def _auto_due(self) -> None:
        """The demo moves on once the step's runs have all run (each step is seen whole)."""
        self._auto_timer = None
        walk = self.walk
        if walk is not None and walk.step.claims[0] not in self.verdicts:
            self._arm_auto()  # its runs are not all done and judged yet
        else:
            self.action_next_step()

    def _walk_next(self, walk: StepWalk) -> None:
        """Start the step's next run, or judge the step when every run has ended."""
        if walk is not self.walk or self.step is None:
            return  # the tour moved on (or was left) before this was due
        step = self.steps[self.step]
        current = walk.current
        if current is not None:
            self._show_banner(walk)
            self.start_run(current[1])
            self._walk_run = self.run
            return
        self._walk_run = None
        check = walk.verdict(self._facts())
        self.verdicts[step.claims[0]] = check
        self._show_banner(walk, check)

    def _show_banner(self, walk: StepWalk, check=None) -> None:
        running = ""
        if walk.step.comparative and not walk.done:
            running = "run %d/%d: %s" % (walk.index + 1, len(walk.rows), walk.rows[walk.index].label)
        self.query_one(TourBanner).show_step(walk.step, self.step, len(self.steps), self.auto_s, check, running)
        self.call_after_refresh(self.fit)

    def _walk_progress(self, run: LiveRun, snap) -> None:
        walk = self.walk
        walk.live(snap)
        if run.closed.is_set():
            walk.finished(run.session if not run.error or snap is not None else None, run.error)
            self._walk_run = None
            self.call_later(self._walk_next, walk)
        self.query_one("#tour-rows", CompareTable).show(walk.rows)

    def _facts(self):
        from execscope import tour
        from execscope.machine import cpu_info

        return tour.Facts(size="default", usable_cpus=cpu_info()["usable_cpus"])

    def show_summary(self) -> None:
        from .tour_summary import TourSummaryScreen

        self.app.push_screen(TourSummaryScreen(self.steps, self.verdicts))

    def leave_tour(self) -> None:
        if self.step is None:
            return
        self._left_at = self.step
        self.step = None
        self.walk = None
        self._walk_run = None
        self.query_one("#tour-rows", CompareTable).set_class(False, "-on")
        if self._auto_timer is not None:
            self._auto_timer.stop()
            self._auto_timer = None
        self.query_one(TourBanner).show_step(None, 0, 0, None)
        self.refresh_bindings()
        self.call_after_refresh(self.fit)

    def action_next_step(self) -> None:
        if self.step is not None:
            self.go_to_step(self.step + 1)

    def action_prev_step(self) -> None:
        if self.step is not None:
            self.go_to_step(self.step - 1)

    def action_tour(self) -> None:
        if self.source != "runner":
            return  # a program or an attached process: nothing of ours to restart
        if self.step is None:
            self.go_to_step(self._left_at)  # rejoin where the tour was left
        else:
            self.leave_tour()
