"""A panel body drawn line by line: only the lines in view are ever rendered.

A ``Static`` renders every line of its text at each update, in view or not.
The worker table of a 64-worker pool is 70 lines of which a dozen show in an
80x24 terminal, redrawn twice a second: that was most of what the TUI spent
drawing such a run (``python -m benchmarks.tui_cpu -- io --executor thread
--workers 64``: 7.5% of a core, 4.5% without the table's redraws).  This body
keeps the text's lines and turns a line into a strip only when the
compositor asks for it (``render_line``), once per update.

Same contract as the Static it stands in for, as far as panels use it:
``update(text, layout=...)``, no wrapping (panels wrap their own prose), lines
cut at the width, the widget's CSS colours under the text's own styles.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Dict, List, Optional

from rich.text import Span, Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget


class LinesBody(Widget):
    DEFAULT_CSS = """
    LinesBody { height: auto; }
    """

    def __init__(self, *, classes: str = "") -> None:
        super().__init__(classes=classes)
        self._text = Text()
        self._plain: List[str] = []
        self._lines: Optional[List[Text]] = None  # split when first drawn
        self._strips: Dict[int, Strip] = {}
        self._width = 0

    @property
    def lines(self) -> List[Text]:
        if self._lines is None:
            self._lines = split_lines(self._text, self._plain)
        return self._lines

    def update(self, text: Text, layout: bool = True) -> None:
        plain = text.plain.split("\n") if text.plain else []
        if plain and plain[-1] == "":
            plain.pop()  # as a Static draws it: a final newline ends the last line
        self._text, self._plain, self._lines = text, plain, None
        self._strips = {}
        self.refresh(layout=layout)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._plain)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return max((line.cell_len for line in self.lines), default=0)

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width or self.size.width
        if width != self._width:
            self._width, self._strips = width, {}
        strip = self._strips.get(y)
        if strip is None:
            base = self.rich_style
            lines = self.lines
            if 0 <= y < len(lines):
                line = lines[y]
                if line.cell_len > width:
                    line = line.copy()
                    line.truncate(width, overflow="crop")
                strip = Strip(list(line.render(self.app.console))).apply_style(base)
            else:
                strip = Strip.blank(width, base)
            self._strips[y] = strip
        return strip


def split_lines(text: Text, plain: List[str]) -> List[Text]:
    r"""``text`` cut at its newlines (``plain``: its plain text so cut), each
    span going to the lines it covers: one pass over the spans, where Rich's
    ``Text.split`` divides them line by line (most of the cost of a
    70-line table).

    >>> t = Text("ab\ncd"); t.stylize("bold", 1, 4)
    >>> [(line.plain, [(s.start, s.end, s.style) for s in line.spans]) for line in split_lines(t, ["ab", "cd"])]
    [('ab', [(1, 2, 'bold')]), ('cd', [(0, 1, 'bold')])]
    """
    starts: List[int] = []
    at = 0
    for piece in plain:
        starts.append(at)
        at += len(piece) + 1
    spans: List[List[Span]] = [[] for _ in plain]
    for start, end, style in text.spans:
        index = max(0, bisect_right(starts, start) - 1)
        while index < len(plain) and starts[index] < end:
            first = starts[index]
            a, b = max(start, first), min(end, first + len(plain[index]))
            if a < b:
                spans[index].append(Span(a - first, b - first, style))
            index += 1
    lines = []
    for piece, own in zip(plain, spans):
        line = Text(piece, style=text.style, end="", no_wrap=True)
        line.spans = own
        lines.append(line)
    return lines
