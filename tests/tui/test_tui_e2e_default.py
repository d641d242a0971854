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


def test_bare_execscope_opens_the_tour_on_its_first_claim(tmp_path):
    tmux, rc_file = Tmux("bare"), str(tmp_path / "rc")
    try:
        _start(tmux, "", rc_file)
        screen = tmux.wait_for("C1 ")
        assert "Tour" in screen and "execscope" in screen.splitlines()[0]
        tmux.wait_for("running")  # the claim's run started on its own
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
