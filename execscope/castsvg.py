"""An asciicast v2 recording as an animated SVG, in the look of the TUI's SVG screenshots.

The cast is replayed through ``execscope.vt``'s screen model and sampled a
few times a second (never in the middle of a synchronized update, so no frame
is half drawn); identical frames are merged and long pauses shortened.

The file stays small because a screen rarely changes everywhere at once:
every distinct screen line is written once, and each row of the picture is a
short strip of the lines it shows in turn, moved by its own CSS keyframes
only when that row changes.  Browsers (and GitHub's README) play it; tools
that ignore CSS animation show the first frame.  ``frame_svg`` draws one
frame as a still picture.

    python -m execscope.castsvg demo.cast demo.svg [--fps 4] [--max-gap 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

from .errors import UsageError
from .vt import Run, Screen, Style, char_width

FONT_PX = 20.0
CELL_W = 12.2  # one column, as in the TUI's screenshots (Fira Code at 20px)
LINE_H = 24.4
BASELINE = 19.5
STRIDE = 32.0  # a row's lines lie this far apart in its strip: the gap keeps a neighbour from bleeding in
PAD = 10.0
CHROME_TOP = 40.0  # the window's title bar
DEFAULT_FG = "#c5c8c6"
DEFAULT_BG = "#1e1e1e"
WINDOW = "#292929"
FONTS = "'Fira Code', 'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace"

Frame = Tuple[Tuple[Run, ...], ...]
Event = Tuple[float, str, str]


@dataclass
class Cast:
    cols: int
    rows: int
    title: str
    events: List[Event] = field(default_factory=list)


def read_cast(path: str) -> Cast:
    """Parse an asciicast v2 file; a malformed one is a UsageError naming the line."""
    try:
        f = open(path, encoding="utf-8")
    except OSError as exc:
        raise UsageError("%s: %s" % (path, exc.strerror or exc))
    with f:
        lines = f.read().splitlines()
    try:
        header = json.loads(lines[0]) if lines else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("version") != 2:
        raise UsageError("%s: not an asciicast v2 file (its first line must be a header with version 2)" % path)
    cols, rows = header.get("width"), header.get("height")
    if not (isinstance(cols, int) and isinstance(rows, int) and cols > 0 and rows > 0):
        raise UsageError("%s: the header needs a positive integer width and height" % path)
    cast = Cast(cols, rows, str(header.get("title") or ""))
    last = 0.0
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            t, code, data = json.loads(line)
            t = float(t)
        except (ValueError, TypeError):
            raise UsageError("%s line %d: an event must be [time, code, data]" % (path, number)) from None
        if t < last or not isinstance(code, str) or not isinstance(data, str):
            raise UsageError("%s line %d: times must not go backwards; code and data are strings" % (path, number))
        last = t
        cast.events.append((t, code, data))
    return cast


def sample_frames(cast: Cast, fps: float = 4.0) -> List[Tuple[float, Frame]]:
    """The screen ``fps`` times a second (no more often than it changed), as
    (time, frame); a sample due during a synchronized update waits for its end."""
    screen = Screen(cast.cols, cast.rows)
    step = 1.0 / fps
    samples: List[Tuple[float, Frame]] = []
    due = 0.0
    for t, code, data in cast.events:
        if t > due and not screen.synchronized:
            samples.append((due, screen.frame()))
            due = (math.floor(t / step) + 1) * step
        if code == "o":
            screen.feed(data)
        elif code == "r":
            cols, _, rows = data.partition("x")
            if cols.isdigit() and rows.isdigit() and int(cols) > 0 and int(rows) > 0:
                screen.resize(int(cols), int(rows))
    samples.append((cast.events[-1][0] if cast.events else 0.0, screen.frame()))
    return samples


def is_blank(frame: Frame) -> bool:
    """Nothing drawn but (perhaps) the cursor."""
    return all(not text.strip() and style.bg is None for row in frame for _, _, style, text in row)


def timeline(samples: Sequence[Tuple[float, Frame]], max_gap: float = 2.0,
             until: Optional[float] = None) -> List[Tuple[float, Frame]]:
    """Merge equal neighbours, drop blank frames at either end, shorten pauses
    to ``max_gap`` and cut at ``until`` seconds."""
    kept: List[Tuple[float, Frame]] = []
    for t, frame in samples:
        if not (kept and kept[-1][1] == frame):
            kept.append((t, frame))
    drawn = [i for i, (_, frame) in enumerate(kept) if not is_blank(frame)]
    if drawn:  # the blank screen before the program drew and after it left
        kept = kept[drawn[0]:drawn[-1] + 1]
    out: List[Tuple[float, Frame]] = []
    clock = 0.0
    for i, (t, frame) in enumerate(kept):
        if i:
            clock += min(t - kept[i - 1][0], max_gap)
        if until is not None and clock >= until:
            break
        out.append((round(clock, 3), frame))
    return out


# ---- drawing ----------------------------------------------------------------------


class Palette:
    """CSS classes for the text styles and background colours in use."""

    def __init__(self, bg: str) -> None:
        self.bg = bg
        self.text: Dict[Tuple[Any, ...], str] = {}
        self.fills: Dict[str, str] = {}

    def colours(self, style: Style) -> Tuple[str, str]:
        fg, bg = style.fg or DEFAULT_FG, style.bg or self.bg
        return (bg, fg) if style.reverse else (fg, bg)

    def text_class(self, style: Style) -> str:
        fg, _ = self.colours(style)
        key = (fg, style.bold, style.italic, style.dim, style.underline, style.strike)
        return self.text.setdefault(key, "t%d" % len(self.text))

    def fill_class(self, colour: str) -> str:
        return self.fills.setdefault(colour, "b%d" % len(self.fills))

    def css(self) -> str:
        rules = []
        for (fg, bold, italic, dim, underline, strike), name in self.text.items():
            decl = ["fill:%s" % fg]
            if bold:
                decl.append("font-weight:bold")
            if italic:
                decl.append("font-style:italic")
            if dim:
                decl.append("opacity:.7")
            lines = [d for d, on in (("underline", underline), ("line-through", strike)) if on]
            if lines:
                decl.append("text-decoration:%s" % " ".join(lines))
            rules.append(".%s{%s}" % (name, ";".join(decl)))
        rules.extend(".%s{fill:%s}" % (name, colour) for colour, name in self.fills.items())
        return "\n".join(rules)


def _num(v: float) -> str:
    return ("%.2f" % v).rstrip("0").rstrip(".")


def _cells(text: str) -> int:
    return sum(char_width(c) for c in text)


def line_svg(runs: Iterable[Run], pal: Palette) -> str:
    """One screen line at y=0: background rectangles, then text runs that each
    keep to their columns (``textLength``) whatever monospace font is used."""
    runs = list(runs)
    parts = []
    rect: Optional[List[Any]] = None  # [colour, first column, columns]
    rects = []
    for col, ncells, style, _ in runs:
        _, bg = pal.colours(style)
        if rect is not None and rect[0] == bg and rect[1] + rect[2] == col:
            rect[2] += ncells
        else:
            rect = [bg, col, ncells]
            rects.append(rect)
    for bg, col, ncells in rects:
        if bg != pal.bg:
            parts.append('<rect class="%s" x="%s" width="%s" height="%s"/>' % (
                pal.fill_class(bg), _num(col * CELL_W), _num(ncells * CELL_W), _num(LINE_H)))
    for col, ncells, style, text in runs:
        body = text.strip(" ")
        if not body and not (style.underline or style.strike):
            continue
        if not body:
            body = text
        lead = len(text) - len(text.lstrip(" "))
        width = _cells(body)
        attrs = 'class="%s" x="%s" y="%s"' % (pal.text_class(style), _num((col + lead) * CELL_W), _num(BASELINE))
        if width > 1:
            attrs += ' textLength="%s" lengthAdjust="spacingAndGlyphs"' % _num(width * CELL_W)
        parts.append("<text %s>%s</text>" % (attrs, escape(body)))
    return "".join(parts)


def _common_bg(frames: Sequence[Frame]) -> str:
    """The background most cells have: painted once, under everything."""
    counts: Dict[str, int] = {}
    for frame in frames[:50]:
        for row in frame:
            for _, ncells, style, _ in row:
                bg = (style.fg or DEFAULT_FG) if style.reverse else (style.bg or DEFAULT_BG)
                counts[bg] = counts.get(bg, 0) + ncells
    return max(counts, key=counts.get) if counts else DEFAULT_BG


def _window(cols: int, rows: int, title: str, bg: str) -> Tuple[float, float, str]:
    w, h = cols * CELL_W, rows * LINE_H
    width, height = w + 2 * PAD, h + CHROME_TOP + PAD
    head = ('<rect fill="%s" stroke="rgba(255,255,255,0.35)" x="0.5" y="0.5" width="%s" height="%s" rx="8"/>'
            '<circle cx="20" cy="20" r="7" fill="#ff5f57"/><circle cx="42" cy="20" r="7" fill="#febc2e"/>'
            '<circle cx="64" cy="20" r="7" fill="#28c840"/>'
            '<text x="%s" y="26" fill="#c5c8c6" text-anchor="middle" '
            'style="font:bold 16px Arial,sans-serif">%s</text>'
            '<rect fill="%s" x="%s" y="%s" width="%s" height="%s"/>') % (
        WINDOW, _num(width - 1), _num(height - 1), _num(width / 2), escape(title), bg,
        _num(PAD), _num(CHROME_TOP), _num(w), _num(h))
    return width, height, head


def _svg(width: float, height: float, css: str, body: str) -> str:
    return ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
            'xml:space="preserve" viewBox="0 0 %s %s" width="%s" height="%s">\n'
            '<style>\ntext{font-family:%s;font-size:%spx;white-space:pre}\n%s\n</style>\n%s\n</svg>\n') % (
        _num(width), _num(height), _num(width), _num(height), FONTS, _num(FONT_PX), css, body)


def frame_svg(frame: Frame, title: str = "execscope") -> str:
    """One frame as a still picture."""
    cols = max((sum(n for _, n, _, _ in row) for row in frame), default=1)
    pal = Palette(_common_bg([frame]))
    width, height, head = _window(cols, len(frame), title, pal.bg)
    rows = ['<g transform="translate(%s,%s)">%s</g>' % (_num(PAD), _num(CHROME_TOP + y * LINE_H), line_svg(row, pal))
            for y, row in enumerate(frame)]
    return _svg(width, height, pal.css(), head + "\n" + "\n".join(rows))


@dataclass
class Animation:
    svg: str
    frames: int
    duration_s: float
    lines: int  # distinct screen lines drawn


def animate(frames: Sequence[Tuple[float, Frame]], title: str = "execscope", hold_s: float = 4.0) -> Animation:
    """The frames (from ``timeline``) as one looping animated SVG; the last is held ``hold_s``."""
    if not frames:
        raise UsageError("the recording shows nothing to animate")
    total = frames[-1][0] + hold_s
    nrows = max(len(f) for _, f in frames)
    cols = max(sum(n for _, n, _, _ in row) for _, f in frames for row in f)
    pal = Palette(_common_bg([f for _, f in frames]))
    width, height, head = _window(cols, nrows, title, pal.bg)

    ids: Dict[Tuple[Run, ...], int] = {}
    slots: List[List[int]] = [[] for _ in range(nrows)]  # each row's distinct lines, in order
    changes: List[List[Tuple[float, int]]] = [[] for _ in range(nrows)]  # (time, index in slot)
    for t, frame in frames:
        for y in range(nrows):
            line = ids.setdefault(frame[y] if y < len(frame) else (), len(ids))
            slot = slots[y]
            if line not in slot:
                slot.append(line)
            v = slot.index(line)
            if not changes[y] or changes[y][-1][1] != v:
                changes[y].append((t, v))
    uses: Dict[int, int] = {}
    for slot in slots:
        for line in slot:
            uses[line] = uses.get(line, 0) + 1
    drawn = {line: line_svg(runs, pal) for runs, line in ids.items()}
    defs = ['<g id="l%d">%s</g>' % (line, drawn[line]) for line in sorted(drawn) if uses.get(line, 0) > 1]

    css = [pal.css()]
    body = [head, "<defs>%s</defs>" % "\n".join(defs)]
    for y, slot in enumerate(slots):
        top = CHROME_TOP + y * LINE_H

        def place(line: int, dy: float) -> str:
            if uses[line] > 1:
                return '<use xlink:href="#l%d"%s/>' % (line, ' y="%s"' % _num(dy) if dy else "")
            return '<g transform="translate(0,%s)">%s</g>' % (_num(dy), drawn[line]) if dy else drawn[line]

        if len(slot) == 1:
            body.append('<g transform="translate(%s,%s)">%s</g>' % (_num(PAD), _num(top), place(slot[0], 0)))
            continue
        strip = "".join(place(line, i * STRIDE) for i, line in enumerate(slot))
        body.append('<svg x="%s" y="%s" width="%s" height="%s"><g class="r%d">%s</g></svg>' % (
            _num(PAD), _num(top), _num(cols * CELL_W), _num(LINE_H), y, strip))
        steps = "".join("%s%%{transform:translateY(%spx)}" % (_num(100.0 * t / total), _num(-v * STRIDE))
                        for t, v in changes[y])
        last = _num(-changes[y][-1][1] * STRIDE)
        css.append(".r%d{animation:k%d %ss step-end infinite}@keyframes k%d{%s100%%{transform:translateY(%spx)}}"
                   % (y, y, _num(total), y, steps, last))
    return Animation(_svg(width, height, "\n".join(css), "\n".join(body)), len(frames), total, len(ids))


def cast_to_svg(cast_path: str, svg_path: str, fps: float = 4.0, max_gap: float = 2.0,
                until: Optional[float] = None, title: Optional[str] = None) -> Animation:
    cast = read_cast(cast_path)
    frames = timeline(sample_frames(cast, fps), max_gap=max_gap, until=until)
    result = animate(frames, title=title or cast.title or "execscope")
    tmp = svg_path + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(result.svg)
        os.replace(tmp, svg_path)
    except OSError as exc:
        raise UsageError("%s: %s" % (svg_path, exc.strerror or exc))
    return result


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m execscope.castsvg",
                                     description="an asciicast v2 recording as an animated SVG")
    parser.add_argument("cast")
    parser.add_argument("svg")
    parser.add_argument("--fps", type=float, default=4.0, help="samples per second (default 4)")
    parser.add_argument("--max-gap", type=float, default=2.0, metavar="S", help="longest pause kept (default 2)")
    parser.add_argument("--until", type=float, default=None, metavar="S", help="cut the animation at S seconds")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    try:
        if not (args.fps > 0 and args.max_gap > 0):
            raise UsageError("--fps and --max-gap must be positive")
        result = cast_to_svg(args.cast, args.svg, args.fps, args.max_gap, args.until, args.title)
    except UsageError as exc:
        print("castsvg: error: %s" % exc, file=sys.stderr)
        return 2
    print("%s: %d frames, %.1f s, %d distinct lines, %d KB" % (
        args.svg, result.frames, result.duration_s, result.lines, len(result.svg.encode()) // 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())
