"""The recorder: real programs in a real pseudo-terminal, recorded as asciicast v2."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from execscope.castsvg import read_cast
from execscope.errors import UsageError
from execscope.record import Recorder, parse_size
from execscope.vt import Screen

ASCIINEMA = shutil.which("asciinema") or shutil.which("asciinema", path=os.path.dirname(sys.executable))


def program(tmp_path, body: str) -> list:
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def lines(path) -> list:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def output(events: list) -> str:
    return "".join(e[2] for e in events if e[1] == "o")


PRINTS = """
    import os, sys, time
    size = os.get_terminal_size()
    print("size %dx%d tty %s" % (size.columns, size.lines, os.isatty(1)))
    for i in range(3):
        print("\\x1b[1;32mline %d\\x1b[0m \\u2500\\u4f60" % i, flush=True)
        time.sleep(0.1)
    # a three-byte character written in two pieces, apart in time
    sys.stdout.buffer.write("\\u2502".encode()[:1]); sys.stdout.flush(); time.sleep(0.2)
    sys.stdout.buffer.write("\\u2502".encode()[1:] + b"end"); sys.stdout.flush()
"""


def test_records_a_real_program_in_a_terminal_of_the_given_size(tmp_path):
    cast = tmp_path / "out.cast"
    rec = Recorder(program(tmp_path, PRINTS), str(cast), (90, 20), title="t", command="prog").run()
    assert rec.exit_status == 0 and rec.stopped_by is None
    header, *events = lines(cast)
    assert header["version"] == 2 and (header["width"], header["height"]) == (90, 20)
    assert header["title"] == "t" and header["command"] == "prog" and header["env"]["TERM"] == "xterm-256color"
    assert isinstance(header["timestamp"], int) and abs(header["timestamp"] - time.time()) < 600
    times = [e[0] for e in events]
    assert all(isinstance(t, float) for t in times) and times == sorted(times) and times[0] >= 0
    assert all(len(e) == 3 and e[1] == "o" and isinstance(e[2], str) and e[2] for e in events)
    expected = "size 90x20 tty True\r\n" + "".join(
        "\x1b[1;32mline %d\x1b[0m \u2500\u4f60\r\n" % i for i in range(3)) + "\u2502end"
    assert output(events) == expected
    assert times[-1] - times[0] >= 0.4  # the sleeps are in the timing
    assert rec.events == len(events) and rec.bytes_out == len(expected.encode())
    screen = Screen(90, 20)
    screen.feed(output(events))
    assert screen.display()[1].startswith("line 0 \u2500\u4f60")


@pytest.mark.skipif(ASCIINEMA is None, reason="asciinema is not installed")
def test_asciinema_plays_the_recording_back(tmp_path):
    cast = tmp_path / "out.cast"
    Recorder(program(tmp_path, PRINTS), str(cast), (90, 20)).run()
    played = subprocess.run([ASCIINEMA, "cat", str(cast)], capture_output=True, timeout=30)
    assert played.returncode == 0, played.stderr
    assert played.stdout.decode("utf-8") == output(lines(cast)[1:])


WAITS_FOR_A_KEY = """
    import sys, termios, tty
    tty.setraw(0)
    print("ready", end="", flush=True)
    key = sys.stdin.read(1)
    print("\\r\\ngot %r" % key, flush=True)
"""


def test_duration_asks_the_program_to_quit_with_its_key(tmp_path):
    cast = tmp_path / "out.cast"
    rec = Recorder(program(tmp_path, WAITS_FOR_A_KEY), str(cast), (80, 24), duration=1.0, quit_keys=b"q").run()
    assert rec.stopped_by == "duration" and rec.exit_status == 0
    assert output(lines(cast)[1:]) == "ready\r\ngot 'q'\n"  # raw mode: no CR added
    assert rec.duration_s >= 1.0


IGNORES_KEYS_AND_TERM = """
    import signal, sys, time
    if "--stubborn" in sys.argv:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("up", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("stubborn", [False, True])
def test_a_program_that_will_not_quit_is_terminated_then_killed(tmp_path, stubborn):
    argv = program(tmp_path, IGNORES_KEYS_AND_TERM) + (["--stubborn"] if stubborn else [])
    cast = tmp_path / "out.cast"
    rec = Recorder(argv, str(cast), (80, 24), duration=1.0, quit_keys=b"q", grace_s=0.5).run()
    assert rec.exit_status == (-signal.SIGKILL if stubborn else -signal.SIGTERM)
    assert output(lines(cast)[1:]).startswith("up")


RECORD_IN_A_CHILD = """
import sys
from execscope.record import Recorder
rec = Recorder(sys.argv[2:], sys.argv[1], (80, 24), quit_keys=None).run()
print(rec.stopped_by, rec.exit_status)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP])
def test_a_recording_stopped_by_ctrl_c_or_hangup_is_a_valid_cast(tmp_path, sig):
    cast = tmp_path / "out.cast"
    argv = program(tmp_path, "import time\nfor i in range(600):\n    print(i, flush=True)\n    time.sleep(0.05)\n")
    proc = subprocess.Popen([sys.executable, "-c", RECORD_IN_A_CHILD, str(cast)] + argv,
                            stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not cast.exists() or len(cast.read_text().splitlines()) < 5):
        time.sleep(0.05)
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=30)
    assert out.split() == [signal.Signals(sig).name, str(-signal.SIGTERM)]
    parsed = read_cast(str(cast))  # every line whole, times in order
    assert len(parsed.events) >= 4
    assert output(lines(cast)[1:]).startswith("0\r\n1\r\n")


def test_a_program_that_cannot_start_is_recorded_saying_so(tmp_path):
    cast = tmp_path / "out.cast"
    rec = Recorder(["/nonexistent/program"], str(cast), (80, 24)).run()
    assert rec.exit_status == 127
    assert "cannot run /nonexistent/program" in output(lines(cast)[1:])


@pytest.mark.parametrize("text,size", [("100x30", (100, 30)), ("80X24", (80, 24))])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["100", "x30", "axb", "10x30", "100x2", "", "100x30x2"])
def test_parse_size_refuses_what_is_not_a_size(text):
    with pytest.raises(UsageError):
        parse_size(text)
