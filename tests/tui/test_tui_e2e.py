"""The real app in a real terminal: tmux runs ``execscope run`` on a small
workload, or on a program (``execscope run -- python prog.py``); we read the
screen with ``capture-pane``, quit (q, or SIGHUP by closing the terminal), and
check that nothing the app started is left.

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

from helpers import command_line, still_running

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
        while still_running(app_tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not still_running(app_tree)
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
        assert any("execscope_runner" in command_line(p) for p in tree)
        tmux.run("kill-session", "-t", tmux.session)  # SIGHUP to the pane, like a dropped SSH link
        deadline = time.monotonic() + 15
        while still_running(tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not still_running(tree), "left behind after SIGHUP: %s" % still_running(tree)
        # the app quit the orderly way: the run was stopped and its JSON written
        assert os.path.exists(json_file), "no JSON after SIGHUP: the app did not quit in order"
        with open(json_file) as fh:
            assert json.load(fh)["status"] == "interrupted"
    finally:
        tmux.kill_server()


def test_program_mode_shows_the_program_and_its_exit_code_and_leaves_nothing(tmp_path):
    """``execscope run -- python mixed.py`` on a terminal opens the TUI: the
    program's own output in its panel, its executors, its exit code; quitting
    leaves none of its processes (spawn and fork pools, a child interpreter)."""
    tmux = Tmux("prog")
    rc_file, json_file = str(tmp_path / "rc"), str(tmp_path / "run.json")
    args = "run --no-gil --json %s -- %s tests/programs/mixed.py" % (json_file, sys.executable)
    try:
        tmux.start(_command(args, rc_file), width=100, height=30)
        tmux.wait_for("exit 0")
        screen = tmux.wait_for("Next executor", timeout=10)  # the frame that follows the last snapshot
        screen = tmux.wait_for("child 210", timeout=10)  # the program's last line, from its child process
        tree = _tree(tmux.pane_pid())
        header = screen.splitlines()[0]
        assert "mixed.py" in header and "✓ completed" in header
        assert "Program output" in screen and "exit 0" in screen
        assert "executors summed" in screen  # it made several
        footer = screen.rstrip().splitlines()[-1]
        assert "Next executor" in footer and "Pick" not in footer and "Restart" not in footer
        tmux.run("send-keys", "-t", tmux.session, "e")
        screen = tmux.wait_for("◂ 1/")
        assert "thread" in screen.splitlines()[1]
        tmux.run("send-keys", "-t", tmux.session, "q")
        assert _wait_file(rc_file) == "0"  # the program exited 0
        with open(json_file) as fh:
            data = json.load(fh)
        assert data["status"] == "completed" and len(data["executors"]) >= 3
        deadline = time.monotonic() + 10
        while (still_running(tree) or _marked("mixed.py")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not still_running(tree), "left behind: %s" % still_running(tree)
        assert not _marked("mixed.py"), "left behind: %s" % _marked("mixed.py")
    finally:
        tmux.kill_server()


def test_quitting_while_a_program_runs_ends_the_program(tmp_path):
    tmux = Tmux("spin")
    rc_file = str(tmp_path / "rc")
    args = "run --no-gil -- %s tests/programs/spin_pool.py 2" % sys.executable
    try:
        tmux.start(_command(args, rc_file), width=80, height=24)
        tmux.wait_for("ready")  # the program's own line, in its output panel
        screen = tmux.wait_for("▶ running")
        assert "thread x2 at " in screen.splitlines()[1] and "spin_pool.py:" in screen.splitlines()[1]
        assert _marked("spin_pool.py"), "the program is not running"
        tmux.run("send-keys", "-t", tmux.session, "q")
        assert _wait_file(rc_file) == "1"  # stopped before it ended: not a completed run
        deadline = time.monotonic() + 10
        while _marked("spin_pool.py") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _marked("spin_pool.py"), "left behind: %s" % _marked("spin_pool.py")
    finally:
        tmux.kill_server()


def _marked(word: str) -> list:
    """Processes started by this test session (they carry its mark) whose command line has ``word``."""
    token = os.environ.get("EXECSCOPE_TEST_MARK")
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if token and proc.environ().get("EXECSCOPE_TEST_MARK") == token \
                    and any(word in part for part in proc.cmdline()) and proc.status() != psutil.STATUS_ZOMBIE:
                found.append("%d %s" % (proc.pid, " ".join(proc.cmdline()[:4])))
        except psutil.Error:
            pass
    return found
