"""A cast as an animated SVG: frames sampled right, equal ones merged, the file well formed."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from execscope.castsvg import (Cast, animate, cast_to_svg, frame_svg, main, read_cast, sample_frames,
                               timeline)
from execscope.errors import UsageError
from execscope.vt import Screen

SVG = "{http://www.w3.org/2000/svg}"


def write_cast(path, events, cols=20, rows=3):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps({"version": 2, "width": cols, "height": rows}) + "\n")
        for e in events:
            f.write(json.dumps(e) + "\n")
    return str(path)


def texts(frame) -> list:
    return ["".join(run[3] for run in row).rstrip() for row in frame]


def test_read_cast_refuses_what_is_not_a_v2_cast(tmp_path):
    bad = tmp_path / "bad.cast"
    for content in ("", "not json\n", '{"version": 1, "width": 80, "height": 24}\n',
                    '{"version": 2, "width": 0, "height": 24}\n',
                    '{"version": 2, "width": 8, "height": 2}\n[1.0, "o", "a"]\n[0.5, "o", "b"]\n',
                    '{"version": 2, "width": 8, "height": 2}\n[1.0, "o"]\n'):
        bad.write_text(content)
        with pytest.raises(UsageError):
            read_cast(str(bad))
    with pytest.raises(UsageError):
        read_cast(str(tmp_path / "missing.cast"))


def test_samples_show_the_screen_as_it_was_at_each_tick(tmp_path):
    cast = read_cast(write_cast(tmp_path / "a.cast", [[0.1, "o", "\x1b[?25lone"], [0.6, "o", "\r\ntwo"],
                                                      [0.7, "o", "\r\nthree"], [3.0, "o", "!"]]))
    frames = timeline(sample_frames(cast, fps=4), max_gap=10)
    assert [(t, texts(f)) for t, f in frames] == [
        (0.0, ["one", "", ""]), (0.5, ["one", "two", "three"]), (2.75, ["one", "two", "three!"])]


def test_no_sample_is_taken_inside_a_synchronized_update(tmp_path):
    cast = read_cast(write_cast(tmp_path / "s.cast", [
        [0.1, "o", "\x1b[?25lold"], [0.3, "o", "\x1b[?2026h\x1b[H\x1b[2Jne"], [0.9, "o", "w\x1b[?2026l"],
        [2.0, "o", "."]]))
    shown = [texts(f)[0] for _, f in sample_frames(cast, fps=4)]
    assert "ne" not in shown and "" not in shown[1:]
    assert shown[-2:] == ["new", "new."]


def test_timeline_merges_equal_frames_trims_blank_ends_shortens_pauses_and_cuts():
    def frame(word):
        s = Screen(10, 2)
        s.feed("\x1b[?25l" + word)
        return s.frame()

    samples = [(0.0, frame("")), (1.0, frame("a")), (1.5, frame("a")), (9.0, frame("b")), (9.5, frame("c")),
               (10.0, frame(""))]
    assert [(t, texts(f)[0]) for t, f in timeline(samples, max_gap=2.0)] == [(0.0, "a"), (2.0, "b"), (2.5, "c")]
    assert len(timeline(samples, max_gap=2.0, until=2.2)) == 2


def test_animation_is_well_formed_svg_with_a_strip_and_keyframes_per_changing_row(tmp_path):
    events = [[0.1, "o", "\x1b[?25lstatic row\r\n"]]
    for i in range(6):
        events.append([0.5 + i, "o", "\x1b[2;1H\x1b[31mtick %d\x1b[0m\x1b[3;1H%s" % (i, "AB"[i % 2])])
    path = write_cast(tmp_path / "t.cast", events)
    frames = timeline(sample_frames(read_cast(path), fps=4))
    assert len(frames) == 7
    anim = animate(frames, title="a <title> & more")
    root = ET.fromstring(anim.svg)
    assert root.tag == SVG + "svg" and anim.frames == 7
    rows = {el.get("class"): el for el in root.iter(SVG + "g") if (el.get("class") or "").startswith("r")}
    assert sorted(rows) == ["r1", "r2"]  # row 0 never changes: no animation
    css = root.find(SVG + "style").text
    assert len(re.findall(r"@keyframes k1\{", css)) == 1
    steps = re.search(r"@keyframes k1\{(.*)\}\}", css).group(1)
    assert steps.count("translateY") == 7 + 1  # one per tick, and the 100% that holds the last
    strip_texts = ["".join(t.itertext()) for t in rows["r1"].iter(SVG + "text")]
    assert strip_texts == ["tick %d" % i for i in range(6)]
    # row 2 flips between A and B: each drawn once; the blank line (in rows 1 and 2) is
    # drawn once in <defs> and shown by reference
    assert ["".join(t.itertext()) for t in rows["r2"].iter(SVG + "text")] == ["A", "B"]
    assert len(rows["r2"].findall(SVG + "use")) == 1 and len(root.find(SVG + "defs")) == 1
    assert anim.lines == 1 + 1 + 6 + 2  # "static row", the blank line, six ticks, A and B
    assert "a &lt;title&gt; &amp; more" in anim.svg


def test_frame_svg_draws_colours_and_backgrounds(tmp_path):
    s = Screen(12, 2)
    s.feed("\x1b[?25l\x1b[38;2;255;0;0;48;2;0;0;255mred\x1b[0m & <ok>")
    root = ET.fromstring(frame_svg(s.frame()))
    css = root.find(SVG + "style").text
    assert "fill:#ff0000" in css and "fill:#0000ff" in css
    assert [t.text for t in root.iter(SVG + "text")][1:] == ["red", "& <ok>"]


def test_cast_to_svg_and_its_command_line(tmp_path, capsys):
    path = write_cast(tmp_path / "c.cast", [[0.1, "o", "hello"], [0.5, "o", " world"]])
    out = tmp_path / "c.svg"
    assert main([path, str(out), "--fps", "10"]) == 0
    assert ET.parse(str(out)).getroot().tag == SVG + "svg"
    assert "2 frames" in capsys.readouterr().out
    assert main([str(tmp_path / "none.cast"), str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(UsageError):
        animate([])
    assert cast_to_svg(path, str(out)).frames == 2
    assert isinstance(Cast(1, 1, ""), Cast)
