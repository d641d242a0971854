"""The real app in a real terminal: tmux runs ``execscope run`` on a small
workload; we read the screen with ``capture-pane``, quit (q, or SIGHUP by
closing the terminal), and check that nothing the app started is left.

Each test uses its own tmux server (``-L``), killed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import psutil
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class Tmux:
    def __init__(self, tag: str) -> None:
        self.socket = "execscope-test-%d-%s" % (os.getpid(), tag)
        self.session = "x"

    def run(self, *args: str, check: bool = True) -> str:
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10)
        if check and out.returncode:
            raise AssertionError("tmux %s: %s" % (" ".join(args), out.stderr))
        return out.stdout

    def start(self, command: str, width: int = 100, height: int = 30) -> None:
        self.run("-f", "/dev/null", "new-session", "-d", "-s", self.session, "-x", str(width),
                 "-y", str(height), command)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session, check=False)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError("%r never appeared; last screen:\n%s" % (text, screen))

    def pane_pid(self) -> int:
        return int(self.run("display-message", "-p", "-t", self.session, "#{pane_pid}").strip())

    def kill_server(self) -> None:
        self.run("kill-server", check=False)


def _tree(pid: int) -> list:
    try:
        root = psutil.Process(pid)
        return [root] + root.children(recursive=True)
    except psutil.Error:
        return []


def _alive(procs: list) -> list:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append("%d %s" % (p.pid, " ".join(p.cmdline()[:4])))
        except psutil.Error:
            pass
    return out


def _command(args: str, rc_file: str) -> str:
    python = sys.executable
    return ("cd %s && env -u PYTHONPATH %s -m execscope %s; echo $? > %s"
            % (ROOT, python, args, rc_file))


def _wait_file(path: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and open(path).read().strip():
            return open(path).read().strip()
        time.sleep(0.1)
    raise AssertionError("%s never written" % path)


def test_real_app_runs_a_workload_shows_it_and_quits_clean(tmp_path):
    tmux = Tmux("run")
    rc_file, json_file = str(tmp_path / "rc"), str(tmp_path / "run.json")
    args = ("run cpu --executor process --workers 2 --tasks 60 --param size=20000 --no-gil "
            "--json %s" % json_file)
    try:
        tmux.start(_command(args, rc_file))
        screen = tmux.wait_for("✓ completed")
        for text in ("Cores", "Workers", "Queue", "Where the time goes", "Alerts",
                     "cpu · process/", "60/60", "pid "):
            assert text in screen, text
        app_tree = [p for p in _tree(tmux.pane_pid()) if p.name().startswith("python")]
        assert app_tree, "the app is not running in the pane"
        tmux.run("send-keys", "-t", tmux.session, "q")
        assert _wait_file(rc_file) == "0"  # a completed run exits 0
        with open(json_file) as fh:
            data = json.load(fh)
        assert data["status"] == "completed" and data["tasks"]["completed"] == 60
        deadline = time.monotonic() + 10
        while _alive(app_tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(app_tree)
    finally:
        tmux.kill_server()


def test_closing_the_terminal_stops_the_runner(tmp_path):
    tmux = Tmux("hup")
    rc_file, json_file = str(tmp_path / "rc"), str(tmp_path / "run.json")
    try:
        tmux.start(_command("run cpu --executor process --workers 2 --duration 60 --no-gil --json %s"
                            % json_file, rc_file), width=80, height=24)
        tmux.wait_for("▶ running")
        tree = _tree(tmux.pane_pid())
        assert any("execscope.runner" in " ".join(p.cmdline()) for p in tree if p.is_running())
        tmux.run("kill-session", "-t", tmux.session)  # SIGHUP to the pane, like a dropped SSH link
        deadline = time.monotonic() + 15
        while _alive(tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(tree), "left behind after SIGHUP: %s" % _alive(tree)
        # the app quit the orderly way: the run was stopped and its JSON written
        assert os.path.exists(json_file), "no JSON after SIGHUP: the app did not quit in order"
        with open(json_file) as fh:
            assert json.load(fh)["status"] == "interrupted"
    finally:
        tmux.kill_server()
