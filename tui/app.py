"""The execscope TUI: a thin App that owns the runs and stacks the screens.

    execscope            tour of the claims (LiveScreen, one run per step)
    execscope run W      LiveScreen on that run; --json written after quitting
    execscope demo       the tour on a timer, for recordings

The App holds what outlives a screen: how sessions are made (real or fake),
the refresh rate, and the Registry of every run, so that q, Ctrl+C, SIGHUP or
SIGTERM stop the runners and nothing is left behind.  Panels and screens live
in ``execscope.tui.widgets`` and ``execscope.tui.screens``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from functools import partial
from typing import Callable, Iterable, List, Optional

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from execscope.model import RunConfig

from .runs import LiveRun, Registry, SessionFactory, default_session_factory

HANGUP_GRACE_S = 3.0


class ExecscopeApp(App):
    CSS_PATH = "execscope.tcss"
    TITLE = "execscope"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit", tooltip="Stop every run and quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, tooltip="Stop every run and quit"),
        Binding("question_mark", "help", "Help", tooltip="Every key, screen by screen"),
    ]

    def __init__(self, config: Optional[RunConfig] = None, *, tour: bool = False,
                 auto_s: Optional[float] = None, refresh_hz: float = 10.0,
                 session_factory: Optional[SessionFactory] = None,
                 compare_factory: Optional[SessionFactory] = None,
                 clock: Callable[[], float] = time.monotonic, handle_signals: bool = False,
                 steps: Optional[list] = None, compare: Optional[List[RunConfig]] = None) -> None:
        super().__init__()
        self.steps = steps  # None: tour_steps()
        self.compare = compare  # a compare plan: open on the compare view of these runs
        self.on_finish: Optional[Callable[[], int]] = None  # run_tui: write results, give the exit code
        self.watchdog: Optional[threading.Timer] = None
        self.handle_signals = handle_signals
        self.initial_config = config
        self.tour = tour
        self.auto_s = auto_s
        self.refresh_hz = refresh_hz
        self.session_factory = session_factory or default_session_factory
        self.compare_factory = compare_factory or self.session_factory
        self.clock = clock
        self.registry = Registry()
        self.current_run: Optional[LiveRun] = None
        self.compare_run = None  # the compare view's latest CompareRun

    def on_mount(self) -> None:
        from .screens.live import LiveScreen

        if self.handle_signals:
            self.install_signal_handlers()
        if self.compare:
            from .screens.compare import CompareScreen

            self.push_screen(CompareScreen(self.compare[0], configs=self.compare, standalone=True))
            return
        self.push_screen(LiveScreen(self.initial_config, tour=self.tour, auto_s=self.auto_s,
                                    steps=self.steps))

    def install_signal_handlers(self) -> None:
        """SIGHUP (the SSH session closed) and SIGTERM: stop every run and quit."""
        import asyncio

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.hang_up)
            except (NotImplementedError, RuntimeError, ValueError, TypeError):
                pass

    def hang_up(self) -> None:
        """The terminal is gone (or we are told to go): end the runs first, keep
        their results (``on_finish``), then quit.  Restoring a terminal that no
        longer exists can block Textual's writer for ever, so a watchdog ends
        the process if the orderly exit has not within a few seconds."""
        self.registry.close_all()
        code = 1
        if self.on_finish is not None:
            try:
                code = self.on_finish()
            except Exception:
                code = 1
        self.watchdog = threading.Timer(HANGUP_GRACE_S, os._exit, args=(code or 1,))
        self.watchdog.daemon = True
        self.watchdog.start()  # cancelled by run_tui once the orderly exit is done
        self.exit()

    def action_quit(self) -> None:
        self.registry.stop_all()
        self.exit()

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """A palette entry for every key binding of the screen and the app."""
        seen = set()
        for target, bindings in ((screen, screen.BINDINGS), (self, self.BINDINGS)):
            for b in bindings:
                b = b if isinstance(b, Binding) else Binding(*b)
                if b.action in seen or (target is screen and screen.check_action(
                        b.action.split("(")[0], ()) is False):
                    continue
                seen.add(b.action)
                yield SystemCommand(palette_title(b), "key: %s" % _key(b.key), partial(target.run_action, b.action))
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Keys"):
                yield command

    def on_unmount(self) -> None:
        self.registry.close_all()


def palette_title(binding: Binding) -> str:
    """``Compare — This workload under every executor, side by side``: the
    footer's word first, so that typing what the footer says finds the action."""
    label, tip = binding.description, binding.tooltip
    if not tip or tip.lower().startswith(label.lower()):
        return tip or label
    return "%s — %s" % (label, tip)


def _key(keys: str) -> str:
    from .screens.help import key_label

    return key_label(keys)


def run_tui(config: Optional[RunConfig] = None, json_path: Optional[str] = None,
            refresh_hz: float = 10.0, *, demo_step_s: Optional[float] = None,
            steps: Optional[list] = None, compare: Optional[List[RunConfig]] = None) -> int:
    """Open the TUI; returns the exit status (0, or 1 when ``config``'s run, or
    a run of the ``compare`` plan, did not complete).  Without a config or a
    compare plan it is the guided tour, on ``steps`` (default: every step)."""
    from execscope.validate import validate

    if config is not None:
        validate(config)  # bad input: one line from the CLI, before the screen is taken over
    app = ExecscopeApp(config, tour=config is None and not compare, auto_s=demo_step_s,
                       refresh_hz=refresh_hz, handle_signals=True, steps=steps, compare=compare)
    done: list = []

    def finish() -> int:
        """Write --json and work out the exit status, once (quit or hang-up)."""
        if not done:
            done.append(_results(app, config, json_path))
        return done[0]

    app.on_finish = finish
    try:
        app.run()
    except OSError:
        pass  # the terminal went away mid-write: what was measured is still written below
    finally:
        if app.watchdog is not None:
            app.watchdog.cancel()
        if app.registry.runs():  # a process pool can take a second or two to end
            print("execscope: stopping the runs…", file=sys.stderr, flush=True)
        app.registry.close_all()
    if app.return_code and not done:  # the app itself failed (its traceback is printed)
        return 1
    return finish()


def _results(app: ExecscopeApp, config: Optional[RunConfig], json_path: Optional[str]) -> int:
    if app.compare:
        run = app.compare_run
        return 0 if run is not None and run.rows and all(r.status == "completed" for r in run.rows) else 1
    if config is None:
        return 0
    run = app.current_run
    record = run.record if run is not None else None
    if json_path and record is not None:
        from execscope import report

        report.write_json_atomic(json_path, report.run_json(record))
    return 0 if record is not None and record.snapshot.status == "completed" else 1
