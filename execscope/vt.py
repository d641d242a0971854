r"""A small xterm screen model: feed it what a program wrote to its terminal, read the screen back.

It knows what full-screen programs such as the TUI use: cursor movement and
addressing, erase, insert and delete, scroll regions, autowrap, SGR colours
(16, 256 and 24-bit), the alternate screen, synchronized updates (so a frame is
never read half drawn) and wide characters.  Everything else a terminal may be
sent (titles, queries, mouse and keyboard modes, charsets) is parsed and ignored.

    >>> screen = Screen(20, 2)
    >>> screen.feed("\x1b[2J\x1b[1;31mhello\x1b[0m world")
    >>> screen.display()[0]
    'hello world         '
    >>> [(column, width, text) for column, width, style, text in screen.row_runs(0)]
    [(0, 5, 'hello'), (5, 15, ' world         ')]
    >>> screen.row_runs(0)[0][2][:3]
    ('#cd3131', None, True)
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import List, NamedTuple, Optional, Tuple


class Style(NamedTuple):
    fg: Optional[str] = None  # '#rrggbb', or None: the terminal's default
    bg: Optional[str] = None
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    reverse: bool = False
    strike: bool = False


PLAIN = Style()
Cell = Tuple[str, Style]  # the right half of a wide character is ('', style)
Run = Tuple[int, int, Style, str]  # first column, columns, style, text

# The 16 ANSI colours (xterm-like values); 16..255 are xterm's cube and grey ramp.
ANSI16 = ("#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
          "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff")


def palette(n: int) -> str:
    """xterm's 256-colour palette entry ``n`` as '#rrggbb'."""
    if n < 16:
        return ANSI16[n]
    if n < 232:
        n -= 16
        levels = [0 if v == 0 else 55 + 40 * v for v in (n // 36, (n // 6) % 6, n % 6)]
        return "#%02x%02x%02x" % tuple(levels)
    grey = 8 + 10 * (n - 232)
    return "#%02x%02x%02x" % (grey, grey, grey)


# Characters that are not one column wide are rare in TUI output: a run without
# any of these (a cheap regex test) is written a slice at a time.
_MAYBE_NOT_NARROW = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0e31-\u0e4e"
    "\u1100-\u115f\u1ab0-\u1aff\u1dc0-\u1dff\u200b-\u200f\u20d0-\u20ff\u2300-\u23ff\u2600-\u27bf"
    "\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe00-\ufe0f\ufe20-\ufe6f\uff00-\uff60\uffe0-\uffe6"
    "\U0001f000-\U0001faff\U00020000-\U0003fffd\U000e0000-\U000e01ef]")
_PRINTABLE = re.compile("[^\x00-\x1f\x7f-\x9f]+")
_CSI_BODY = re.compile("[\x20-\x3f]*")
_STRING_END = re.compile("[\x07\x1b]")


@lru_cache(maxsize=4096)
def char_width(ch: str) -> int:
    """0 for combining and zero-width characters, 2 for wide ones, else 1."""
    if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\u2060\ufeff" or "\ufe00" <= ch <= "\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


GROUND, ESC, ESC_INTERMEDIATE, CSI, STRING, STRING_ESC = range(6)


class Screen:
    """One terminal screen of ``cols`` x ``rows`` cells, and its alternate screen."""

    def __init__(self, cols: int, rows: int) -> None:
        if cols < 1 or rows < 1:
            raise ValueError("a screen needs at least one column and one row, not %dx%d" % (cols, rows))
        self.cols, self.rows = cols, rows
        self.reset()

    # ---- state -----------------------------------------------------------------

    def reset(self) -> None:
        self.main: List[List[Cell]] = self._blank_buffer()
        self.buffer = self.main
        self.alternate = False
        self.x = self.y = 0
        self.style = PLAIN
        self.wrap_pending = False
        self.autowrap = True
        self.origin = False
        self.cursor_visible = True
        self.synchronized = False  # inside a synchronized update (mode 2026): the frame is not done
        self.top, self.bottom = 0, self.rows - 1
        self.saved = (0, 0, PLAIN, False)
        self.title = ""
        self._state = GROUND
        self._seq = ""

    def _blank_buffer(self) -> List[List[Cell]]:
        return [self._blank_row() for _ in range(self.rows)]

    def _blank_row(self, style: Style = PLAIN) -> List[Cell]:
        return [(" ", style)] * self.cols

    def _erase_style(self) -> Style:
        """Erased cells take the current background (xterm's background colour erase)."""
        return Style(bg=self.style.bg) if self.style.bg else PLAIN

    def resize(self, cols: int, rows: int) -> None:
        if cols < 1 or rows < 1:
            raise ValueError("a screen needs at least one column and one row, not %dx%d" % (cols, rows))
        buffers = [self.main] + ([self.buffer] if self.alternate else [])
        for buf in buffers:
            for i, row in enumerate(buf):
                buf[i] = (row + [(" ", PLAIN)] * cols)[:cols]
            del buf[rows:]
            buf.extend([(" ", PLAIN)] * cols for _ in range(rows - len(buf)))
        self.cols, self.rows = cols, rows
        self.top, self.bottom = 0, rows - 1
        self.x, self.y = min(self.x, cols - 1), min(self.y, rows - 1)
        self.wrap_pending = False

    # ---- reading the screen ------------------------------------------------------

    def display(self) -> List[str]:
        """Each row as text, one character per column (a wide character counts for two)."""
        return ["".join(ch for ch, _ in row) for row in self.buffer]

    def row_runs(self, y: int, cursor: bool = False) -> Tuple[Run, ...]:
        """Row ``y`` as runs of cells of one style; with ``cursor``, a visible
        cursor on this row shows as a reversed cell."""
        row = self.buffer[y]
        if cursor and self.cursor_visible and y == self.y:
            row = list(row)
            ch, st = row[self.x]
            row[self.x] = (ch, st._replace(reverse=not st.reverse))
        runs: List[Run] = []
        start, style, chars = 0, row[0][1], []
        for x, (ch, st) in enumerate(row):
            if st != style:
                runs.append((start, x - start, style, "".join(chars)))
                start, style, chars = x, st, []
            chars.append(ch)
        runs.append((start, self.cols - start, style, "".join(chars)))
        return tuple(runs)

    def frame(self, cursor: bool = True) -> Tuple[Tuple[Run, ...], ...]:
        """The whole screen as ``row_runs`` rows: equal frames compare equal."""
        return tuple(self.row_runs(y, cursor) for y in range(self.rows))

    # ---- input -------------------------------------------------------------------

    def feed(self, data: str) -> None:
        """Apply ``data``, which may end or begin in the middle of an escape sequence."""
        i, n = 0, len(data)
        while i < n:
            state = self._state
            if state == GROUND:
                m = _PRINTABLE.match(data, i)
                if m:
                    self._print(m.group())
                    i = m.end()
                    continue
                ch = data[i]
                i += 1
                if ch == "\x1b":
                    self._state = ESC
                else:
                    self._control(ch)
            elif state == ESC:
                ch = data[i]
                i += 1
                self._escape(ch)
            elif state == ESC_INTERMEDIATE:  # ESC ( B and friends: charsets, ignored
                i += 1
                self._state = GROUND
            elif state == CSI:
                m = _CSI_BODY.match(data, i)
                self._seq += m.group()
                i = m.end()
                if i < n:
                    ch = data[i]
                    i += 1
                    if "\x40" <= ch <= "\x7e":
                        self._state = GROUND
                        self._csi(self._seq, ch)
                    elif ch == "\x1b":
                        self._state = ESC
                    elif ch < " ":
                        self._control(ch)  # controls inside a sequence act at once
                    else:
                        self._state = GROUND  # malformed: dropped
            elif state == STRING:  # OSC, DCS, APC, PM, SOS: until BEL or ST
                m = _STRING_END.search(data, i)
                if not m:
                    self._seq += data[i:]
                    i = n
                    continue
                self._seq += data[i:m.start()]
                i = m.end()
                if m.group() == "\x07":
                    self._end_string()
                else:
                    self._state = STRING_ESC
            else:  # STRING_ESC: ESC inside a string; ESC \ ends it, anything else starts a new sequence
                ch = data[i]
                i += 1
                self._end_string()
                if ch != "\\":
                    self._escape(ch)

    def _end_string(self) -> None:
        seq = self._seq
        self._state, self._seq = GROUND, ""
        if seq[:1] == "]":
            code, _, text = seq[1:].partition(";")
            if code in ("0", "2"):
                self.title = text

    def _control(self, ch: str) -> None:
        if ch == "\r":
            self.x = 0
            self.wrap_pending = False
        elif ch in "\n\x0b\x0c":
            self._linefeed()
        elif ch == "\b":
            self.x = max(0, self.x - 1)
            self.wrap_pending = False
        elif ch == "\t":
            self.x = min(self.cols - 1, (self.x // 8 + 1) * 8)
            self.wrap_pending = False
        # BEL, SO, SI, NUL and the rest: nothing to draw

    def _escape(self, ch: str) -> None:
        self._state = GROUND
        if ch == "[":
            self._state, self._seq = CSI, ""
        elif ch in "]PX^_":
            self._state, self._seq = STRING, ch
        elif " " <= ch <= "/":
            self._state = ESC_INTERMEDIATE
        elif ch == "7":
            self._save_cursor()
        elif ch == "8":
            self._restore_cursor()
        elif ch == "D":
            self._linefeed()
        elif ch == "E":
            self.x = 0
            self._linefeed()
        elif ch == "M":
            self._reverse_index()
        elif ch == "c":
            self.reset()
        elif ch == "\x1b":
            self._state = ESC

    # ---- printing ----------------------------------------------------------------

    def _print(self, text: str) -> None:
        if _MAYBE_NOT_NARROW.search(text):
            for ch in text:
                self._put(ch, char_width(ch))
            return
        style, cols = self.style, self.cols
        while text:
            if self.wrap_pending:
                self._wrap()
            row, x = self.buffer[self.y], self.x
            room = cols - x
            if len(text) > room and not self.autowrap:
                text = text[:room - 1] + text[-1]
            chunk, text = text[:room], text[room:]
            end = x + len(chunk)
            self._unsplit(row, x, end)
            row[x:end] = [(c, style) for c in chunk]
            if end >= cols:
                self.x = cols - 1
                self.wrap_pending = self.autowrap
            else:
                self.x = end

    def _put(self, ch: str, width: int) -> None:
        if width == 0:  # joins the character before it
            x = self.x if self.wrap_pending else self.x - 1
            row = self.buffer[self.y]
            if x >= 0:
                if row[x][0] == "" and x > 0:
                    x -= 1
                row[x] = (row[x][0] + ch, row[x][1])
            return
        if self.wrap_pending or (width == 2 and self.x == self.cols - 1 and self.autowrap):
            self._wrap()
        if width == 2 and self.cols < 2:
            ch, width = " ", 1
        x = min(self.x, self.cols - width)
        row = self.buffer[self.y]
        self._unsplit(row, x, x + width)
        row[x] = (ch, self.style)
        if width == 2:
            row[x + 1] = ("", self.style)
        if x + width >= self.cols:
            self.x = self.cols - 1
            self.wrap_pending = self.autowrap
        else:
            self.x = x + width

    def _unsplit(self, row: List[Cell], start: int, end: int) -> None:
        """Cells start..end are about to be overwritten: a wide character that
        straddles either edge loses its other half (it becomes a space)."""
        if start > 0 and row[start][0] == "":
            row[start - 1] = (" ", row[start - 1][1])
        if end < self.cols and row[end][0] == "":
            row[end] = (" ", row[end][1])

    def _wrap(self) -> None:
        self.wrap_pending = False
        self.x = 0
        self._linefeed()

    def _linefeed(self) -> None:
        self.wrap_pending = False
        if self.y == self.bottom:
            self._scroll_up(1)
        elif self.y < self.rows - 1:
            self.y += 1

    def _reverse_index(self) -> None:
        self.wrap_pending = False
        if self.y == self.top:
            self._scroll_down(1)
        elif self.y > 0:
            self.y -= 1

    def _scroll_up(self, n: int, top: Optional[int] = None) -> None:
        top = self.top if top is None else top
        bottom = self.bottom
        n = min(n, bottom - top + 1)
        del self.buffer[top:top + n]
        self.buffer[bottom - n + 1:bottom - n + 1] = [self._blank_row(self._erase_style()) for _ in range(n)]

    def _scroll_down(self, n: int, top: Optional[int] = None) -> None:
        top = self.top if top is None else top
        bottom = self.bottom
        n = min(n, bottom - top + 1)
        del self.buffer[bottom - n + 1:bottom + 1]
        self.buffer[top:top] = [self._blank_row(self._erase_style()) for _ in range(n)]

    # ---- cursor ------------------------------------------------------------------

    def _save_cursor(self) -> None:
        self.saved = (self.x, self.y, self.style, self.origin)

    def _restore_cursor(self) -> None:
        self.x, self.y, self.style, self.origin = self.saved
        self.x, self.y = min(self.x, self.cols - 1), min(self.y, self.rows - 1)
        self.wrap_pending = False

    def _move_to(self, x: int, y: int) -> None:
        if self.origin:
            y = min(max(y + self.top, self.top), self.bottom)
        self.x = min(max(x, 0), self.cols - 1)
        self.y = min(max(y, 0), self.rows - 1)
        self.wrap_pending = False

    def _move_rows(self, dy: int) -> None:
        """CUU/CUD: up or down, stopping at the scroll region's edge when inside it."""
        y = self.y + dy
        if self.top <= self.y <= self.bottom:
            y = min(max(y, self.top), self.bottom)
        self.y = min(max(y, 0), self.rows - 1)
        self.wrap_pending = False

    # ---- CSI ---------------------------------------------------------------------

    def _csi(self, body: str, final: str) -> None:
        private = body[:1] if body[:1] in "?<=>" else ""
        params = body[len(private):]
        if params.rstrip("0123456789;:") != "":
            return  # intermediates (DECRQM, DECSCUSR, ...): queries and cursor shapes, ignored
        if final == "m" and not private:
            self._sgr(params)
            return
        nums = [int(p.split(":")[0] or 0) for p in params.split(";")] if params else []

        def arg(i: int = 0, default: int = 1) -> int:
            v = nums[i] if i < len(nums) else 0
            return v if v else default

        if private == "?":
            if final in "hl":
                for mode in nums:
                    self._dec_mode(mode, final == "h")
            return
        if private:
            return
        if final == "A":
            self._move_rows(-arg())
        elif final in "Be":
            self._move_rows(arg())
        elif final in "Ca":
            self.x = min(self.x + arg(), self.cols - 1)
            self.wrap_pending = False
        elif final == "D":
            self.x = max(0, self.x - arg())
            self.wrap_pending = False
        elif final == "E":
            self._move_rows(arg())
            self.x = 0
        elif final == "F":
            self._move_rows(-arg())
            self.x = 0
        elif final in "G`":
            self.x = min(arg() - 1, self.cols - 1)
            self.wrap_pending = False
        elif final in "Hf":
            self._move_to(arg(1) - 1, arg(0) - 1)
        elif final == "d":
            self._move_to(self.x, arg() - 1)
        elif final == "J":
            self._erase_display(arg(0, 0))
        elif final == "K":
            self._erase_line(arg(0, 0))
        elif final == "X":
            row = self.buffer[self.y]
            end = min(self.cols, self.x + arg())
            self._unsplit(row, self.x, end)
            row[self.x:end] = [(" ", self._erase_style())] * (end - self.x)
        elif final == "@":
            row = self.buffer[self.y]
            n = min(arg(), self.cols - self.x)
            row[self.x:self.x] = [(" ", self._erase_style())] * n
            del row[self.cols:]
        elif final == "P":
            row = self.buffer[self.y]
            n = min(arg(), self.cols - self.x)
            del row[self.x:self.x + n]
            row.extend([(" ", self._erase_style())] * n)
        elif final in "LM":
            if self.top <= self.y <= self.bottom:
                (self._scroll_down if final == "L" else self._scroll_up)(arg(), top=self.y)
                self.x = 0
        elif final == "S":
            self._scroll_up(arg())
        elif final == "T" and len(nums) <= 1:
            self._scroll_down(arg())
        elif final == "b":
            row = self.buffer[self.y]
            prev = row[self.x - 1][0] if self.x > 0 and not self.wrap_pending else row[self.x][0]
            if prev:
                self._print(prev * arg())
        elif final == "r":
            top, bottom = arg(0) - 1, arg(1, self.rows) - 1
            if 0 <= top < bottom < self.rows:
                self.top, self.bottom = top, bottom
                self._move_to(0, 0)
        elif final == "s":
            self._save_cursor()
        elif final == "u":
            self._restore_cursor()

    def _dec_mode(self, mode: int, on: bool) -> None:
        if mode == 25:
            self.cursor_visible = on
        elif mode == 7:
            self.autowrap = on
        elif mode == 6:
            self.origin = on
            self._move_to(0, 0)
        elif mode == 2026:
            self.synchronized = on
        elif mode in (47, 1047, 1049):
            if on == self.alternate:
                return
            if on:
                if mode == 1049:
                    self._save_cursor()
                self.buffer = self._blank_buffer()
                self.alternate = True
            else:
                self.buffer = self.main
                self.alternate = False
                if mode == 1049:
                    self._restore_cursor()
            self.wrap_pending = False

    def _erase_display(self, how: int) -> None:
        blank = (" ", self._erase_style())
        if how == 0:
            self._erase_line(0)
            for y in range(self.y + 1, self.rows):
                self.buffer[y] = [blank] * self.cols
        elif how == 1:
            self._erase_line(1)
            for y in range(self.y):
                self.buffer[y] = [blank] * self.cols
        elif how == 2:
            for y in range(self.rows):
                self.buffer[y] = [blank] * self.cols
        # 3 clears the scrollback, which this model does not keep

    def _erase_line(self, how: int) -> None:
        row = self.buffer[self.y]
        blank = (" ", self._erase_style())
        start, end = {0: (self.x, self.cols), 1: (0, self.x + 1), 2: (0, self.cols)}.get(how, (0, 0))
        self._unsplit(row, start, end)
        row[start:end] = [blank] * (end - start)

    def _sgr(self, params: str) -> None:
        groups = params.split(";") if params else ["0"]
        st = self.style
        i = 0
        while i < len(groups):
            sub = groups[i].split(":")
            i += 1
            code = int(sub[0] or 0)
            if code in (38, 48, 58):
                if len(sub) > 1:  # colon form: 38:5:n, 38:2:r:g:b or 38:2:cs:r:g:b
                    values = [int(v or 0) for v in sub[1:]]
                else:
                    values = [int(v.split(":")[0] or 0) for v in groups[i:i + 4]]
                    kind = values[0] if values else 0
                    i += {5: 2, 2: 4}.get(kind, 1)
                colour = _ext_colour(values)
                if colour is not None and code != 58:
                    st = st._replace(**{"fg" if code == 38 else "bg": colour})
            elif code == 0:
                st = PLAIN
            elif code == 1:
                st = st._replace(bold=True)
            elif code == 2:
                st = st._replace(dim=True)
            elif code == 3:
                st = st._replace(italic=True)
            elif code in (4, 21):
                st = st._replace(underline=not (len(sub) > 1 and sub[1] == "0"))
            elif code == 7:
                st = st._replace(reverse=True)
            elif code == 9:
                st = st._replace(strike=True)
            elif code == 22:
                st = st._replace(bold=False, dim=False)
            elif code == 23:
                st = st._replace(italic=False)
            elif code == 24:
                st = st._replace(underline=False)
            elif code == 27:
                st = st._replace(reverse=False)
            elif code == 29:
                st = st._replace(strike=False)
            elif 30 <= code <= 37:
                st = st._replace(fg=ANSI16[code - 30])
            elif code == 39:
                st = st._replace(fg=None)
            elif 40 <= code <= 47:
                st = st._replace(bg=ANSI16[code - 40])
            elif code == 49:
                st = st._replace(bg=None)
            elif 90 <= code <= 97:
                st = st._replace(fg=ANSI16[code - 90 + 8])
            elif 100 <= code <= 107:
                st = st._replace(bg=ANSI16[code - 100 + 8])
        self.style = st


def _ext_colour(values: List[int]) -> Optional[str]:
    """[5, n] or [2, r, g, b] (or [2, colourspace, r, g, b]) as '#rrggbb'."""
    if len(values) >= 2 and values[0] == 5:
        return palette(min(max(values[1], 0), 255))
    if values and values[0] == 2 and len(values) >= 4:
        r, g, b = (min(max(v, 0), 255) for v in values[-3:])
        return "#%02x%02x%02x" % (r, g, b)
    return None
