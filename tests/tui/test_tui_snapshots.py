"""SVG snapshots of every screen on scripted data and a frozen clock.

Sizes: 80x24 (the smallest the TUI supports) and 160x48; machines of 2, 16,
128 and 256 logical cores.  Update after a deliberate change with
``pytest tests/tui/test_tui_snapshots.py --snapshot-update`` and look at the
report before committing.
"""

from __future__ import annotations

import pytest

from execscope.model import RunConfig

from tui_support import make_app, settle, settle_compare

CPU_THREADS = RunConfig("cpu", "thread", workers=4)
CPU_PROCESSES = RunConfig("cpu", "process", start_method="forkserver", workers=4)


@pytest.mark.parametrize("cores", [2, 16, 128, 256])
def test_live_cores_80x24(snap_compare, cores):
    assert snap_compare(make_app(CPU_PROCESSES, cores=cores), terminal_size=(80, 24), run_before=settle)


@pytest.mark.parametrize("cores", [2, 16, 128, 256])
def test_live_cores_160x48(snap_compare, cores):
    assert snap_compare(make_app(CPU_THREADS, cores=cores), terminal_size=(160, 48), run_before=settle)


def test_starvation_alert_80x24(snap_compare):
    app = make_app(RunConfig("recursive_submit", "thread", workers=2), pause_at=None)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_alert_opened_whole_80x24(snap_compare):
    async def open_alerts(pilot):
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()

    app = make_app(RunConfig("recursive_submit", "thread", workers=8), pause_at=None)
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_alerts)


def test_pickle_alert_160x48(snap_compare):
    app = make_app(RunConfig("pickle_heavy", "process", start_method="fork", workers=2, tasks=40))
    assert snap_compare(app, terminal_size=(160, 48), run_before=settle)


def test_tour_80x24(snap_compare):
    assert snap_compare(make_app(tour=True), terminal_size=(80, 24), run_before=settle)


def test_picker_80x24(snap_compare):
    async def open_picker(pilot):
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        await pilot.press("down", "down", "down", "down")  # pickle_heavy

    assert snap_compare(make_app(CPU_THREADS), terminal_size=(80, 24), run_before=open_picker)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_compare_view(snap_compare, size):
    async def open_compare(pilot):
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        await settle_compare(pilot)

    app = make_app(RunConfig("cpu", "thread", workers=2, tasks=200))
    assert snap_compare(app, terminal_size=size, run_before=open_compare)


def test_help_80x24(snap_compare):
    async def open_help(pilot):
        await settle(pilot)
        await pilot.press("question_mark")

    assert snap_compare(make_app(CPU_THREADS), terminal_size=(80, 24), run_before=open_help)


def test_no_color_80x24(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(RunConfig("recursive_submit", "thread", workers=2), pause_at=None)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


PROGRAM = RunConfig("python pipeline.py", argv=("python", "pipeline.py"))


def test_program_80x24(snap_compare):
    assert snap_compare(make_app(PROGRAM), terminal_size=(80, 24), run_before=settle)


def test_program_one_executor_ended_160x48(snap_compare):
    async def second_executor(pilot):
        await settle(pilot)
        await pilot.press("e", "e")  # all -> #1 -> #2
        await settle(pilot)

    app = make_app(PROGRAM, pause_at=None)
    assert snap_compare(app, terminal_size=(160, 48), run_before=second_executor)


def test_attach_100x30(snap_compare):
    app = make_app(RunConfig("pid 4242", attach_pid=4242))
    assert snap_compare(app, terminal_size=(100, 30), run_before=settle)
