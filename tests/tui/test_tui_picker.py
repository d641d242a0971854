"""The picker: another workload starts from its own defaults and says what it reset."""

from __future__ import annotations

import sys

from execscope import families
from execscope.model import RunConfig
from execscope.tui.screens.picker import PickerScreen

from tui_support import aio, make_app, screen_text, settle

IO8 = RunConfig("io", "process", workers=8, tasks=240)


async def _open_picker(pilot, app):
    await settle(pilot)
    await pilot.press("p")
    await pilot.pause()
    assert isinstance(app.screen, PickerScreen)
    return app.screen


def _field(picker, key: str) -> str:
    return picker.query_one("#field-" + key).value


@aio
async def test_another_workload_starts_from_its_own_defaults_and_says_so():
    app = make_app(IO8)
    async with app.run_test(size=(80, 24)) as pilot:
        picker = await _open_picker(pilot, app)
        assert (_field(picker, "workers"), _field(picker, "tasks")) == ("8", "240")
        await pilot.press("down", "down", "down")  # io -> pickle_heavy
        await pilot.pause()
        assert picker.workload_name == "pickle_heavy"
        assert (_field(picker, "workers"), _field(picker, "tasks")) == ("", "")
        note = str(picker.query_one("#picker-note").render())
        assert "workers and tasks: pickle_heavy's defaults, not io's" in note
        assert "default 40" in screen_text(app)  # its own task count, as the placeholder
        await pilot.press("up", "up", "up")  # back to the run's own workload: its values again
        await pilot.pause()
        assert (_field(picker, "workers"), _field(picker, "tasks")) == ("8", "240")


@aio
async def test_a_thread_only_workload_says_it_reset_the_executor():
    app = make_app(IO8)
    async with app.run_test(size=(80, 24)) as pilot:
        picker = await _open_picker(pilot, app)
        assert picker.query_one("#executor").value == "process"
        while picker.workload_name != "recursive_submit":
            await pilot.press("down")
            await pilot.pause()
        assert picker.query_one("#executor").value == "thread"
        note = str(picker.query_one("#picker-note").render())
        assert "executor set to thread: recursive_submit runs under thread only" in note


@aio
async def test_parameter_hints_are_whole_at_80_columns():
    app = make_app(RunConfig("pickle_heavy", "process", workers=2))
    async with app.run_test(size=(80, 30)) as pilot:
        picker = await _open_picker(pilot, app)
        text = " ".join(line.strip(" │▆▇█▃▄▅▂▁") for line in screen_text(app).splitlines())
        text = " ".join(text.split())
        w = picker.workloads["pickle_heavy"]
        for p in w.params:
            assert " ".join(p.help.split()) in text, p.name
        # nothing is cut short, but the executor row, which scrolls its choices
        assert not [line for line in screen_text(app).splitlines() if "…" in line and "executor" not in line]


@aio
async def test_the_executor_choices_come_from_the_families_this_workload_and_interpreter_allow():
    app = make_app(RunConfig("cpu", "thread", workers=2))
    async with app.run_test(size=(80, 24)) as pilot:
        picker = await _open_picker(pilot, app)
        executor = picker.query_one("#executor")
        assert list(executor.choices) == list(families.offered(("serial", "thread", "process"), sys.version_info))
        assert "pool" in executor.choices and "interpreter" not in executor.choices  # 3.11 has none
        while executor.value != "pool":
            executor.action_move(1)
            await pilot.pause()
        method = picker.query_one("#start-method")
        assert not method.has_class("-disabled")  # a Pool takes a start method
        config = picker.form_config()
        assert (config.executor, config.start_method) == ("pool", method.value)
        print(screen_text(app))
        assert "pool" in screen_text(app)
