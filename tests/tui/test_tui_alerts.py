"""The Alerts panel: which panel has focus, one scrollbar, an alert opened whole."""

from __future__ import annotations

from execscope.model import RunConfig
from execscope.tui.screens.alert_detail import AlertDetailScreen
from execscope.tui.screens.live import LiveScreen

from tui_support import aio, make_app, screen_text, settle

DEADLOCK8 = RunConfig("recursive_submit", "thread", workers=8)


def _bottom_rows(app) -> list:
    alerts = app.screen.query_one("#alerts").region
    return [line[alerts.x:alerts.right] for line in screen_text(app).splitlines()[alerts.y:alerts.bottom]]


@aio
async def test_the_focused_panel_has_a_heavy_border_not_only_another_colour():
    app = make_app(DEADLOCK8, pause_at=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert screen_text(app).splitlines()[1].startswith("┏━ Cores")  # the first panel has focus
        app.screen.query_one("#alerts").focus()
        await pilot.pause()
        rows = _bottom_rows(app)
        assert rows[0].startswith("┏━ Alerts") and rows[-1].startswith("┗━")
        app.screen.query_one("#workers").focus()
        await pilot.pause()
        assert _bottom_rows(app)[0].startswith("╭─ Alerts")
        assert "┏" in screen_text(app)  # the workers panel, alerting (double) and focused (heavy)


@aio
async def test_alerts_panel_has_one_scrollbar_and_the_screen_none():
    app = make_app(DEADLOCK8, pause_at=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        scrolling = [w for w in app.screen.query("*") if getattr(w, "show_vertical_scrollbar", False)]
        alerts = app.screen.query_one("#alerts")
        assert alerts in scrolling and alerts.styles.scrollbar_size_vertical == 1
        assert not app.screen.show_vertical_scrollbar
        assert not any(w is not alerts and alerts in w.ancestors_with_self for w in scrolling)


@aio
async def test_a_opens_every_alert_whole_and_enter_does_so_from_the_panel():
    app = make_app(DEADLOCK8, pause_at=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Alerts · a: in full" in text, "the panel's title offers the key while there are alerts"
        assert "? Help" in text.splitlines()[-1], "the footer still fits 80 columns"
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AlertDetailScreen)
        whole = screen_text(app)
        assert "starvation critical" in whole and "evidence" in whole
        # every blocked worker is listed: nothing is cut to "+N more" here
        assert "more" not in whole
        for i in range(8):
            assert "worker_%d" % i in whole
        assert "→" in whole  # the remedy
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen)
        app.screen.query_one("#alerts").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AlertDetailScreen)


@aio
async def test_without_alerts_the_key_is_not_offered():
    app = make_app(RunConfig("io", "thread", workers=4), pause_at=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "✓ no alerts" in screen_text(app)
        assert "a: in full" not in screen_text(app)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen)
