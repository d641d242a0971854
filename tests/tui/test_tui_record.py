"""``execscope demo --record`` on a real terminal (tmux, 80x24): the demo shows live while it
is recorded at the terminal's size (following a resize), the keys typed reach it, and ``q``
ends both."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time

import pytest

from helpers import still_running
from test_tui_e2e import ROOT, Tmux, _tree, _wait_file

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def test_recording_on_a_terminal_shows_the_demo_and_passes_keys(tmp_path):
    tmux, rc_file, cast = Tmux("record"), str(tmp_path / "rc"), str(tmp_path / "demo.cast")
    entry = os.path.join(os.path.dirname(sys.executable), "execscope")
    try:
        tmux.start("cd %s && env -u PYTHONPATH %s demo --record %s --claims C1 --step-seconds 60; echo $? > %s"
                   % (ROOT, entry, cast, rc_file), width=80, height=24)
        tmux.wait_for("Tour 1/1")  # drawn live on this terminal while being recorded
        tmux.run("resize-window", "-t", tmux.session, "-x", "100", "-y", "30")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and '"r", "100x30"' not in open(cast, encoding="utf-8").read():
            time.sleep(0.2)
        started = _tree(tmux.pane_pid())[1:]
        tmux.run("send-keys", "-t", tmux.session, "q")  # through the recorder to the demo
        assert _wait_file(rc_file, timeout=30) == "0"
        deadline = time.monotonic() + 10
        while still_running(started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not still_running(started)
    finally:
        tmux.kill_server()
    with open(cast, encoding="utf-8") as f:
        header, *events = [json.loads(line) for line in f]
    assert (header["width"], header["height"]) == (80, 24)  # the terminal's own size
    assert [e[2] for e in events if e[1] == "r"] == ["100x30"]  # and it followed the resize
