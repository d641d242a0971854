"""``execscope`` with no arguments and ``execscope demo`` as real processes in
a real 80x24 terminal (tmux): the tour opens on its first claim, the demo
moves on by itself, ``q`` exits 0, and nothing either started is left."""

from __future__ import annotations

import os
import shutil
import sys
import time

import pytest

from helpers import still_running
from test_tui_e2e import ROOT, Tmux, _tree, _wait_file

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def _start(tmux: Tmux, args: str, rc_file: str) -> None:
    entry = os.path.join(os.path.dirname(sys.executable), "execscope")
    tmux.start("cd %s && env -u PYTHONPATH %s %s; echo $? > %s" % (ROOT, entry, args, rc_file),
               width=80, height=24)


def _quit_and_check(tmux: Tmux, rc_file: str) -> None:
    started = [p for p in _tree(tmux.pane_pid())[1:]]
    assert started, "nothing runs in the pane"
    tmux.run("send-keys", "-t", tmux.session, "q")
    assert _wait_file(rc_file, timeout=30) == "0"
    deadline = time.monotonic() + 10
    while still_running(started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not still_running(started)


# bare execscope: every step; execscope tour: the steps chosen, in the tour's order
@pytest.mark.parametrize("args,first", [("", "Tour 1/"), ("tour --size tiny --claims C3,C1", "Tour 1/2 ")])
def test_bare_execscope_and_tour_open_the_guided_tour_on_its_first_claim(tmp_path, args, first):
    tmux, rc_file = Tmux("tour"), str(tmp_path / "rc")
    try:
        _start(tmux, args, rc_file)
        screen = tmux.wait_for("running")  # the first claim's run started on its own
        assert first in screen and "C1 " in screen and "Watch:" in screen
        # the top line is the run's header (at 80 columns it gives up the brand for the
        # interpreter once the run's cost note is shown, so the run is what is checked)
        assert "cpu · thread x" in screen.splitlines()[0]
        _quit_and_check(tmux, rc_file)
    finally:
        tmux.kill_server()


def test_demo_advances_by_itself(tmp_path):
    tmux, rc_file = Tmux("demo"), str(tmp_path / "rc")
    try:
        _start(tmux, "demo --step-seconds 1", rc_file)
        tmux.wait_for("C1 ")
        tmux.wait_for("C2 ")  # no key pressed
        _quit_and_check(tmux, rc_file)
    finally:
        tmux.kill_server()


def test_compare_on_a_terminal_opens_the_compare_view_and_answers(tmp_path):
    tmux, rc_file = Tmux("compare"), str(tmp_path / "rc")
    try:
        _start(tmux, "compare cpu --tasks 6 --param size=2000 --executors serial,thread --workers 2 --no-gil",
               rc_file)
        screen = tmux.wait_for("Compare")
        assert "serial" in screen and "thread x2" in screen
        screen = tmux.wait_for("was fastest")  # both rows ran and the verdict is compare's
        assert "2/2 runs" in screen
        tmux.run("send-keys", "-t", tmux.session, "q")
        assert _wait_file(rc_file, timeout=30) == "0"
    finally:
        tmux.kill_server()


@pytest.mark.parametrize("args,printed", [
    ("tour --headless --size tiny --claims C1 --no-gil", "tour time"),
    ("compare cpu --headless --tasks 4 --param size=2000 --executors serial --no-gil", "was fastest"),
])
def test_headless_on_a_terminal_prints_instead_of_opening_the_tui(tmp_path, args, printed):
    tmux, rc_file = Tmux("headless"), str(tmp_path / "rc")
    try:
        _start(tmux, args + "; echo exit-status-$?; sleep 60", rc_file)  # keep the pane to read it
        screen = tmux.wait_for("exit-status-", timeout=60)
        assert "exit-status-0" in screen
        assert printed in screen and "Tour 1/" not in screen and "Quit" not in screen
    finally:
        tmux.kill_server()
