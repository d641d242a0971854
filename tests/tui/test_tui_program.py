"""Program and attach runs in the TUI (``execscope run -- python prog.py``,
``execscope attach PID``), on scripted snapshots (``tui_fake_program``)."""

from __future__ import annotations

from execscope.model import RunConfig
from execscope.tui.screens.help import HelpScreen
from execscope.tui.screens.live import RUNNER_ONLY, LiveScreen

from tui_support import aio, make_app, screen_text, settle

PROGRAM = RunConfig("python pipeline.py", argv=("python", "pipeline.py"))
ATTACH = RunConfig("pid 4242", attach_pid=4242)


def lines(app) -> list:
    return screen_text(app).splitlines()


@aio
async def test_program_run_shows_its_output_executors_and_exit_code():
    app = make_app(PROGRAM, pause_at=None)  # the whole run: the program exits 0
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        header = lines(app)[0]
        assert "python pipeline.py" in header and "pid 4242" in header
        assert "✓ completed" in header and "exit 0" in header
        assert "Program output · pid 4242 · exit 0" in text
        assert "done: 12 batches" in text  # the newest line stays in view
        assert "2 executors summed (1 process pool, 1 thread pool)" in text
        assert "no live executor" in text  # both shut down with the program


@aio
async def test_summed_view_groups_the_workers_by_executor():
    app = make_app(PROGRAM)
    async with app.run_test(size=(120, 48)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "▶ running" in lines(app)[0] and "exit" not in lines(app)[0]
        assert "#1 thread x8 at pipeline.py:31" in text
        assert "#2 process/fork x2 at pipeline.py:32" in text
        assert "TPE-0_0" in text and "pid 4292" in text
        assert "task 1000" not in text  # task numbers count within their executor
        assert "IPC" in text and "summed over thread and process pools" in text


@aio
async def test_e_cycles_through_each_executor_and_back_to_all():
    app = make_app(PROGRAM)
    async with app.run_test(size=(120, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert "e Next executor" in lines(app)[-1]
        await pilot.press("e")
        await settle(pilot)
        bar, text = lines(app)[1], screen_text(app)
        assert "◂ 1/2 ▸" in bar and "thread x8 at pipeline.py:31 in main" in bar and "io-bound" in bar
        assert "thread pool · max_workers 8" in text and "threads: shared memory" in text
        assert "pid 4292" not in text and "chunksize_too_small" not in text
        await pilot.press("e")
        await settle(pilot)
        bar, text = lines(app)[1], screen_text(app)
        assert "◂ 2/2 ▸" in bar and "process/fork x2" in bar and "cpu-bound" in bar
        assert "fork pool · max_workers 2" in text and "TPE-0_0" not in text
        assert "IPC" in text and "chunksize_too_small" in text and "map chunksize 1" in text
        await pilot.press("e")
        await settle(pilot)
        assert "◂ all ▸" in lines(app)[1]
        await pilot.press("E")  # backwards: from "all" to the last one
        await settle(pilot)
        assert "◂ 2/2 ▸" in lines(app)[1]
        assert screen.focus_ex.selected == "4242:2"


@aio
async def test_keys_that_start_built_in_workloads_are_off_for_a_program():
    app = make_app(PROGRAM)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        screen = app.screen
        footer = lines(app)[-1]
        for word in ("Pick", "Restart", "Compare"):
            assert word not in footer
        titles = {c.title for c in app.get_system_commands(screen)}
        for b in LiveScreen.BINDINGS:
            if b.action.split("(")[0] in RUNNER_ONLY:
                assert b.tooltip not in titles, b.action
        assert any("next executor" in t for t in titles)  # the executor key is there instead
        for key in ("p", "r", "c", "x", "plus", "minus", "t"):
            await pilot.press(key)
            await pilot.pause()
        assert isinstance(app.screen, LiveScreen)
        assert len(app.session_factory.sessions) == 1  # nothing restarted
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "built-in workloads only: off while a program runs" in text
        assert "Choose workload, executor" not in text.split("Scenario picker")[0]


@aio
async def test_stopping_a_program_keeps_the_picture():
    app = make_app(PROGRAM)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        assert app.current_run.join(5)
        await settle(pilot)
        assert "■ interrupted" in lines(app)[0]
        assert "Program output" in screen_text(app)


@aio
async def test_attach_says_which_panels_it_cannot_fill_and_why():
    app = make_app(ATTACH)
    async with app.run_test(size=(120, 48)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        header = lines(app)[0]
        assert "attached to pid 4242 python3 spin_pool.py 3" in header and "▶ watching" in header
        assert "3 running" in header
        assert "queue, tasks: not available in attach" in text
        assert "breakdown, ipc: not available in attach mode" in text
        assert "queue depth lives inside the" in text and "task counts, throughput" in text
        assert "py-spy cannot attach here" in text  # the GIL columns say why they are empty
        assert "spin_0" in text and "▶ running" in text and "task -1" not in text
        assert "thread x3 thread pool 'spin'" in lines(app)[1] and "gil-bound" in lines(app)[1]
        assert "Program output" not in text
        assert "e Next executor" not in lines(app)[-1]  # one executor: nothing to choose
        assert " done" not in text.split("Workers")[1].split("\n")[2]  # no task counts per worker


def test_attach_header_says_which_way_it_watches():
    from execscope.tui.widgets.run_header import RunHeader
    from tui_fake_program import attach_script

    for mode in ("instrumented since 12:03:41", "stacks only: the target runs Python 3.13; loading the "
                                                "instrumentation into a running process needs CPython 3.14+"):
        snap = attach_script(ATTACH, seconds=0.2, mode=mode)[-1]
        assert "attached to pid 4242 · " + mode in RunHeader._left(snap.config, snap, 0).plain
        assert mode.split(":")[0] in RunHeader._left(snap.config, snap, 3).plain


@aio
async def test_attach_end_reason_is_shown():
    app = make_app(ATTACH, pause_at=None)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        assert "✓ completed" in lines(app)[0]
        assert "completed: the process exited" in screen_text(app)


@aio
async def test_small_terminal_keeps_one_line_of_output():
    app = make_app(PROGRAM)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Program output" in text and "batch" in text
        assert "worker" in text and "Where the time goes" in text and "Alerts" in text


@aio
async def test_a_finished_executors_note_wraps_instead_of_being_cut():
    app = make_app(PROGRAM, pause_at=None)
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(pilot)
        await pilot.press("e", "e")  # all -> #1 -> #2, both shut down by the end
        await settle(pilot)
        box = app.screen.query_one("#workers").region
        text = " ".join(" ".join(line[box.x + 1:box.right - 1] for line in lines(app)[box.y:box.bottom]).split())
        assert "this executor has shut down: its workers are gone (its totals stay in the other panels)" \
            in text
