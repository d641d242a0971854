"""``execscope demo --record``: the real demo recorded in a pseudo-terminal, through the command line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from execscope.castsvg import read_cast, sample_frames
from helpers import ROOT, cli
from test_record import ASCIINEMA, lines, output


@pytest.mark.parametrize("args,says", [
    (["--duration", "5"], "--duration goes with --record"),
    (["--svg", "x.svg"], "--svg goes with --record"),
    (["--record", "x.cast", "--size", "100"], "COLUMNSxROWS"),
    (["--record", "/nonexistent/dir/x.cast"], "does not exist"),
    (["--record", "x.cast", "--claims", "C99"], "unknown claim C99"),
    (["--record", "x.cast", "--duration", "-1"], "positive"),
])
def test_bad_input_is_one_line_and_status_2(args, says, tmp_path):
    out = cli("demo", *args)
    assert out.returncode == 2
    assert says in out.stderr and out.stderr.count("\n") == 1, out.stderr
    assert not os.path.exists(os.path.join(ROOT, "x.cast"))


def screens(path: str) -> list:
    return ["\n".join("".join(run[3] for run in row) for row in frame) for _, frame in sample_frames(read_cast(path))]


def test_records_the_real_demo_at_80x24_without_a_terminal(tmp_path):
    cast, svg = str(tmp_path / "demo.cast"), str(tmp_path / "demo.svg")
    out = cli("demo", "--record", cast, "--svg", svg, "--size", "80x24", "--duration", "3",
              "--claims", "C1", "--step-seconds", "60", timeout=120)
    assert out.returncode == 0, out.stderr
    assert "recorded %s: 80x24" % cast in out.stderr and "--duration reached" in out.stderr
    header = lines(cast)[0]
    assert (header["width"], header["height"]) == (80, 24) and header["command"].startswith("execscope demo")
    shown = screens(cast)
    assert any("Tour 1/1" in s and "C1" in s for s in shown), shown[-1]
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and "@keyframes" in root.find("{http://www.w3.org/2000/svg}style").text
    if ASCIINEMA:
        played = subprocess.run([ASCIINEMA, "cat", cast], capture_output=True, timeout=60)
        assert played.returncode == 0 and played.stdout.decode() == output(lines(cast)[1:])


def test_ctrl_c_ends_the_recording_with_a_valid_cast_and_nothing_left(tmp_path):
    cast = tmp_path / "demo.cast"
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen([sys.executable, "-m", "execscope", "demo", "--record", str(cast), "--size", "100x30",
                             "--claims", "C2", "--step-seconds", "60"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (cast.exists() and "running" in cast.read_text()):
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1 and "stopped by SIGINT" in err, err
    parsed = read_cast(str(cast))
    assert parsed.events and (parsed.cols, parsed.rows) == (100, 30)
    assert "\x1b[?1049l" in output(lines(cast)[1:])  # the demo quit and gave the terminal back


@pytest.mark.slow
def test_the_recorder_costs_the_demo_next_to_nothing(tmp_path):
    """The recorder only copies bytes: under 1% of one CPU while the demo runs two steps."""
    cast = str(tmp_path / "demo.cast")
    out = cli("demo", "--record", cast, "--size", "100x30", "--claims", "C1,C7", "--step-seconds", "8", timeout=180)
    assert out.returncode == 0, out.stderr
    m = re.search(r", ([\d.]+) s, .*the recorder used ([\d.]+) s of CPU", out.stderr)
    elapsed, cpu = float(m.group(1)), float(m.group(2))
    assert elapsed > 10 and cpu < 0.01 * elapsed, out.stderr
