"""Every screen and every key, driven with Textual's pilot on scripted snapshots."""

from __future__ import annotations

from dataclasses import replace

import pytest

from execscope.model import RunConfig
from tui_fake import FakeFactory, FakeSession, pictured_steps
from execscope.tui.app import palette_title
from execscope.tui.screens.compare import CompareScreen
from execscope.tui.screens.help import HelpScreen, help_text
from execscope.tui.screens.live import LiveScreen
from execscope.tui.screens.picker import PickerScreen
from execscope.tui.widgets.cycler import Cycler

from tui_support import aio, make_app, screen_text, settle, settle_compare

CPU4 = RunConfig("cpu", "thread", workers=4)


@aio
async def test_live_screen_shows_every_panel():
    app = make_app(CPU4)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        for title in ("Cores", "Workers", "Queue", "Where the time goes", "Alerts"):
            assert title in text
        assert "cpu · thread x4" in text and "▶ running" in text
        assert "worker_0" in text and "max_workers 4" in text
        assert "GIL h/w" in text  # the scripted thread run has GIL figures
        assert "tasks/s" in text and "p95" in text


@aio
async def test_stop_key_stops_the_run_and_keeps_the_picture():
    app = make_app(CPU4)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        assert app.current_run.join(5)
        await settle(pilot)
        assert app.current_run.latest.status == "interrupted"
        assert "■ interrupted" in screen_text(app)
        assert "worker_0" in screen_text(app)


@aio
async def test_restart_cycle_executor_and_worker_keys_start_new_runs():
    app = make_app(CPU4)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        sessions = app.session_factory.sessions
        await pilot.press("r")
        await settle(pilot)
        assert len(sessions) == 2 and sessions[0].closed
        await pilot.press("plus")
        await settle(pilot)
        assert app.current_run.config.workers == 5
        await pilot.press("minus", "minus")
        await settle(pilot)
        assert app.current_run.config.workers == 3
        await pilot.press("x")
        await settle(pilot)
        assert app.current_run.config.executor == "process"
        assert "process" in screen_text(app).splitlines()[0]
        await pilot.press("x")
        await settle(pilot)
        assert app.current_run.config.executor == "serial"
        assert app.current_run.config.workers is None
        await pilot.press("plus")  # no workers to add to the serial baseline
        await settle(pilot)
        assert app.current_run.config.executor == "serial"


@aio
async def test_alert_lights_up_the_panel_it_names():
    app = make_app(RunConfig("recursive_submit", "thread", workers=2), pause_at=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        workers = app.screen.query_one("#workers")
        assert workers.has_class("-alerting")
        assert "starvation" in str(workers.border_subtitle)
        assert not app.screen.query_one("#queue").has_class("-alerting")
        text = screen_text(app)
        assert "✗ deadlock" in text and "starvation critical" in text
        assert "waits on #" in text


@aio
async def test_pickle_alert_points_at_the_breakdown():
    app = make_app(RunConfig("pickle_heavy", "process", workers=2, tasks=40))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#breakdown").has_class("-alerting")
        text = screen_text(app)
        assert "pickle_bottleneck" in text and "IPC" in text and "MiB" in text


@aio
async def test_gil_reason_is_shown_when_not_measured():
    app = make_app(RunConfig("io", "thread", workers=4))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "GIL held/wait: not measured — py-spy cannot attach" in screen_text(app)


@aio
async def test_a_failed_run_is_shown_not_fatal():
    class Failing(FakeFactory):
        def __call__(self, config, listener, refresh_hz=10.0):
            session = super().__call__(config, listener, refresh_hz)
            last = session._script[-1]
            session._script[-1] = replace(last, status="failed", reason="the runner process ended unexpectedly",
                                          first_error="ZeroDivisionError: division by zero")
            return session

    app = make_app(CPU4)
    app.session_factory = Failing(2, pause_at=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "✗ failed" in text
        assert "run ended: failed" in text and "ZeroDivisionError" in text


@aio
async def test_a_launch_error_is_a_notice_and_the_app_carries_on():
    app = make_app(RunConfig("no_such_workload"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "✗ unknown workload" in screen_text(app)
        await pilot.press("r")  # still responsive
        await settle(pilot)
        assert app.is_running


@aio
async def test_stale_data_is_flagged_on_the_header():
    now = [1000.0]
    app = make_app(CPU4)
    app.clock = lambda: now[0]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        now[0] += 10
        app.screen._check_stale()
        await pilot.pause()
        assert "no data for 10s" in screen_text(app)


@aio
async def test_resize_redraws_at_the_new_size():
    app = make_app(CPU4, cores=64)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        wide = screen_text(app)
        assert len(wide.splitlines()[0]) == 160
        assert "64 logical" in wide
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert "64/64 usable" in screen_text(app)


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
@aio
async def test_quit_keys_end_the_app_and_close_every_session(key):
    app = make_app(CPU4)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await pilot.pause()
    assert app.return_code == 0
    assert all(s.closed for s in app.session_factory.sessions)
    assert app.registry.runs() == []


@aio
async def test_tour_walks_the_steps_with_n_b_and_t_and_rejoins_where_it_was_left():
    app = make_app(tour=True)
    steps = pictured_steps()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Tour 1/%d" % len(steps) in text and "Watch:" in text
        assert app.current_run.config == steps[0].config
        # the claim is whole on screen (wrapped, never cut)
        assert " ".join(steps[0].title.split()[-4:]) in " ".join(text.split())
        await pilot.press("n")
        await settle(pilot)
        assert "Tour 2/" in screen_text(app) and app.current_run.config == steps[1].configs[0][1]
        await pilot.press("b", "b")  # stays at the first step
        await settle(pilot)
        assert "Tour 1/" in screen_text(app)
        await pilot.press("n", "n")
        await settle(pilot)
        await pilot.press("t")
        await pilot.pause()
        assert "Tour 3/" not in screen_text(app)
        assert app.screen.check_action("next_step", ()) is False
        await pilot.press("t")  # rejoins at the step it left, not at the first
        await settle(pilot)
        assert "Tour 3/" in screen_text(app)


async def walk_step(pilot, index: int):
    """Go to step ``index`` and wait until each of its runs has run and the step is judged."""
    screen = pilot.app.screen
    screen.go_to_step(index)
    for _ in range(500):  # a ceiling for a loaded machine, not a timing
        await settle(pilot)
        if screen.walk is not None and screen.walk.done and screen.steps[index].claims[0] in screen.verdicts:
            break
    await settle(pilot)
    return screen


ALL_ROW_NAMES = sorted({name for step in pictured_steps() for name, _ in step.runs}, key=len, reverse=True)


def names_in(sentence: str):
    """The run names a sentence mentions (whole words; longest names first)."""
    import re

    found, rest = set(), sentence
    for name in ALL_ROW_NAMES:
        pattern = r"(?<![\w-])%s(?![\w-])" % re.escape(name)
        if re.search(pattern, rest):
            found.add(name)
            rest = re.sub(pattern, " ", rest)
    return found


@pytest.mark.parametrize("claim", [s.claims[0] for s in pictured_steps()])
def test_each_step_shows_what_its_watch_sentence_names(claim):
    """A comparative step runs every one of its rows and shows them as a table;
    its sentence names only rows that are on screen.  A single-run step names no
    other run (no comparison it does not show)."""
    import asyncio

    async def go():
        app = make_app(tour=True, pause_at=None)
        steps = pictured_steps()
        index = [s.claims[0] for s in steps].index(claim)
        step = steps[index]
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            screen = await walk_step(pilot, index)
            text = screen_text(app)
            named = names_in(step.watch)
            names = {name for name, _ in step.runs}
            assert named <= names, (step.watch, named - names)
            if step.comparative:
                assert "row" in step.watch and named, step.watch
                table = text.split("Watch:")[1]
                for name in names:
                    assert "\n %s " % name in table, name  # a labelled row per run
                assert [r.status for r in screen.walk.rows] == ["completed"] * len(step.runs)
                assert len(app.session_factory.sessions) >= len(step.runs)
            else:
                assert named <= {step.configs[0][0]}, step.watch
            # the step ends with the tour's own verdict on screen
            assert "here" in text.split("Watch:")[1]

    asyncio.run(go())


@aio
async def test_the_last_step_closes_the_tour_with_a_summary():
    from execscope.tui.screens.tour_summary import TourSummaryScreen

    app = make_app(tour=True, pause_at=None)
    steps = pictured_steps()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await walk_step(pilot, len(steps) - 1)
        assert "n summary" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, TourSummaryScreen)
        text = screen_text(app)
        assert "verdicts on this machine" in text and "Python concurrency in depth" in text
        assert steps[-1].claims[0] in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen) and "Tour %d/" % len(steps) in screen_text(app)


@aio
async def test_small_terminals_give_up_panels_and_say_so():
    for size, hidden in (((80, 24), None), ((60, 20), "hidden")):
        app = make_app(tour=True)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await pilot.pause(0.1)
            text = screen_text(app)
            lines = text.splitlines()
            assert "Tour 1/" in lines[1], "the header and the tour line stay on top"
            assert "Watch:" in text and "Workers" in text
            assert "Pick" in lines[-1], "the footer stays at the bottom"
            if hidden is None:
                assert "Alerts" in text and "Cores" in text and "hidden" not in text
            else:
                assert "Cores, Time split, Alerts (1 active) hidden (needs 80x" in text
                assert not app.screen.query_one("#cores").display
        # a comparative step at 80x24: its rows, the banner and the live workers fit
        app = make_app(tour=True)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await pilot.press("n")
            await settle(pilot)
            await pilot.pause(0.1)
            text = screen_text(app)
            assert "thread x4" in text and "process" in text and "Workers" in text
            assert text.splitlines()[1].startswith("  Tour 2/")


@aio
async def test_demo_advances_on_its_own_and_quits_after_the_last_step():
    app = make_app(tour=True, auto_s=0.05, pause_at=None)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(3000):  # a ceiling for a loaded machine, not a timing
            await pilot.pause(0.02)
            if not app.is_running:
                break
        assert not app.is_running, "the demo did not end after its last step"
    # every run of every step ran: the demo waits for a step's rows before moving on
    assert len(app.session_factory.sessions) == sum(len(s.configs) for s in pictured_steps())
    # each run closes its session in its own thread: wait for those threads
    assert all(run.join(10.0) for run in app.registry.runs()), "a run thread never finished"
    assert all(s.closed for s in app.session_factory.sessions)


@aio
async def test_help_lists_every_key_of_every_screen():
    app = make_app(CPU4)
    async with app.run_test(size=(100, 48)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for screen in (LiveScreen, PickerScreen, CompareScreen):
            for b in screen.BINDINGS:
                assert b.tooltip.split(" (")[0][:30] in text.replace("\n", " ") or b.tooltip[:20] in text
        assert "PgDn  Scroll" in text  # the key column is as wide as its longest key
        legend = help_text(app).plain.split("Symbols")[1]
        for glyph in ("◐", "⇣", "⇡", "·", "‖", "⊘"):
            assert glyph in legend, glyph
        assert "Esc, ? or q closes this" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen)
        await pilot.press("question_mark", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen)


@aio
async def test_palette_has_an_entry_for_every_binding_and_runs_it():
    app = make_app(CPU4)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        commands = {c.title: c for c in app.get_system_commands(screen)}
        for b in list(LiveScreen.BINDINGS) + list(app.BINDINGS):
            if b.action in ("next_step", "prev_step"):
                continue  # only while the tour runs
            if b.action.startswith("executor("):
                continue  # only for a program with several executors
            assert any(b.tooltip in title for title in commands), b.action
        await commands["Stop the run now (what was measured stays on screen)"].callback()
        assert app.current_run.join(5)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert "CommandPalette" in type(app.screen).__name__


@aio
async def test_palette_finds_every_footer_word():
    """Typing what the footer says (or "help") finds that action in the palette."""
    from textual.command import CommandList

    app = make_app(CPU4)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for word, wanted in (("compare", "Compare — "), ("pick", "Pick — "), ("help", "Help — "),
                             ("restart", "Restart — "), ("quit", "Quit"), ("stop", "Stop the run")):
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*word)
            found = ""
            for _ in range(100):  # the palette searches in a worker
                await pilot.pause(0.02)
                found = str(app.screen.query_one(CommandList).get_option_at_index(0).prompt) \
                    if app.screen.query_one(CommandList).option_count else ""
                if wanted in found:
                    break
            assert wanted in found, (word, found)
            await pilot.press("escape")
            await pilot.pause()


@aio
async def test_picker_keys_choose_and_start_a_run():
    app = make_app(CPU4)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        await pilot.press("down")  # io
        await pilot.pause()
        assert "io — blocking waits" in screen_text(app)
        await pilot.press("tab")  # executor
        assert isinstance(app.focused, Cycler)
        await pilot.press("right")  # thread -> process
        await pilot.press("tab", "right")  # start method
        await pilot.press("tab")  # workers
        await pilot.press("end", "backspace", "backspace", "3", "tab", "2", "5")  # workers 3, tasks 25
        await pilot.press("enter")
        for _ in range(200):
            await pilot.pause(0.02)
            if isinstance(app.screen, LiveScreen):
                break
        await settle(pilot)
        cfg = app.current_run.config
        assert (cfg.workload, cfg.executor, cfg.workers, cfg.tasks) == ("io", "process", 3, 25)
        assert cfg.start_method is not None


@aio
async def test_picker_shows_a_bad_value_next_to_the_form():
    app = make_app(CPU4)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        app.screen.query_one("#field-workers").value = "0"
        await pilot.press("ctrl+s")
        for _ in range(200):
            await pilot.pause(0.02)
            if "must be at least 1" in screen_text(app):
                break
        assert isinstance(app.screen, PickerScreen)
        assert "✗ workers 0: must be at least 1" in screen_text(app)  # the form's words, not the CLI's
        assert "--" not in screen_text(app)
        app.screen.query_one("#field-workers").value = "2"
        app.screen.query_one("#field-param-size").value = "lots"
        await pilot.press("f5")
        for _ in range(200):
            await pilot.pause(0.02)
            if "expected int" in screen_text(app):
                break
        assert "expected int" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen)


@aio
async def test_picker_compare_key_opens_the_compare_view():
    app = make_app(CPU4)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("ctrl+o")
        for _ in range(200):
            await pilot.pause(0.02)
            if isinstance(app.screen, CompareScreen):
                break
        assert isinstance(app.screen, CompareScreen)
        await settle_compare(pilot)


@aio
async def test_compare_fills_rows_and_answers_the_question():
    app = make_app(RunConfig("cpu", "thread", workers=2, tasks=200))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await settle_compare(pilot)
        text = screen_text(app)
        assert "serial" in text and "thread x2" in text and "process/fork x2" in text
        assert "process/fork x2 was fastest" in text and "as the article expects, process wins" in text
        assert all(r.status == "completed" for r in screen.run.rows)
        first = screen.run
        await pilot.press("r")
        await settle_compare(pilot)
        assert screen.run is not first
        await pilot.press("s")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen)


@aio
async def test_compare_stop_leaves_finished_rows():
    app = make_app(CPU4)
    app.compare_factory = FakeFactory(2, pause_at=0.5)  # every row waits until stopped
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause(0.2)
        await pilot.press("s")
        await settle_compare(pilot)
        rows = app.screen.run.rows
        assert rows[0].status == "interrupted"
        assert all(r.status == "skipped" for r in rows[1:])
        assert "skipped" in screen_text(app)


@aio
async def test_screen_without_a_run_offers_the_picker():
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "no run" in screen_text(app)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, PickerScreen)
        assert all(isinstance(s, FakeSession) for s in app.session_factory.sessions)


@aio
async def test_every_screen_puts_its_keys_in_the_palette():
    app = make_app(CPU4)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for key, screen_type in (("p", PickerScreen), ("c", CompareScreen)):
            await pilot.press(key)
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, screen_type)
            titles = {c.title for c in app.get_system_commands(screen)}
            for b in screen_type.BINDINGS:
                assert palette_title(b) in titles and palette_title(b).startswith(b.description), b.action
            await pilot.press("escape")
            await pilot.pause()
            if isinstance(app.screen, CompareScreen):
                await settle_compare(pilot)


@aio
async def test_hang_up_ends_the_runs_keeps_the_results_and_quits():
    app = make_app(CPU4)
    finished = []
    app.on_finish = lambda: finished.append(app.current_run.latest.status) or 1
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.hang_up()
        await pilot.pause()
    app.watchdog.cancel()  # run_tui does this once the orderly exit is done
    assert finished == ["interrupted"]
    assert all(s.closed for s in app.session_factory.sessions)


@aio
async def test_every_panel_shown_fits_on_the_screen_whole():
    """Rows are shared out explicitly: a shown panel's bottom border is never
    pushed under the footer (fractions with minimum heights did that at 80x24)."""
    for size in ((80, 24), (60, 20), (120, 40)):
        app = make_app(tour=True, pause_at=None)  # the step ends: its verdict adds a line
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await pilot.pause(0.1)
            footer = app.screen.query_one("Footer").region
            for name in ("cores", "middle", "bottom"):
                widget = app.screen.query_one("#" + name)
                if widget.display:
                    assert widget.region.bottom <= footer.y, (size, name)


@aio
async def test_a_big_pool_s_worker_table_is_redrawn_less_often_but_ends_on_the_newest_snapshot():
    import asyncio

    from execscope.tui.widgets.workers import WorkersPanel

    app = make_app(RunConfig("cpu", "thread", workers=64))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(WorkersPanel)
        assert panel.redraw_every_s() == WorkersPanel.MANY_EVERY_S
        await asyncio.sleep(WorkersPanel.MANY_EVERY_S + 0.3)
        await pilot.pause()
        width = max(10, panel.outer_size.width - panel.styles.gutter.width - panel.SCROLLBAR_ROOM)
        assert panel._drawn is not None and panel._drawn.plain == panel.render_body(width).plain
        assert panel._drawn.plain.count("worker_") == 64
