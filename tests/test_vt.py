"""The xterm screen model: known sequences give known screens."""

from __future__ import annotations

from execscope.vt import ANSI16, PLAIN, Screen, Style, palette


def screen(data: str, cols: int = 10, rows: int = 4) -> Screen:
    s = Screen(cols, rows)
    s.feed(data)
    return s


def text(s: Screen) -> list:
    return [line.rstrip() for line in s.display()]


def style_at(s: Screen, x: int, y: int) -> Style:
    return s.buffer[y][x][1]


def test_printing_wraps_at_the_last_column_only_when_more_comes():
    s = screen("0123456789")
    assert text(s) == ["0123456789", "", "", ""]
    assert (s.x, s.y, s.wrap_pending) == (9, 0, True)
    s.feed("a")
    assert text(s)[:2] == ["0123456789", "a"]
    s = screen("\x1b[?7l0123456789abc")  # autowrap off: the last column is overwritten
    assert text(s) == ["012345678c", "", "", ""]


def test_cursor_addressing_and_relative_moves():
    s = screen("\x1b[3;5HX\x1b[AY\x1b[2DZ\x1b[BW\x1b[1GV\x1b[4dU\x1b[100;100HT")
    assert text(s) == ["", "    ZY", "V   XW", " U       T"]
    s = screen("ab\rc\n\x08d\tE")  # CR, LF (no CR: the terminal's ONLCR adds it), BS, TAB
    assert text(s) == ["cb", "d       E", "", ""]


def test_linefeed_at_the_bottom_scrolls():
    s = screen("1\r\n2\r\n3\r\n4\r\n5")
    assert text(s) == ["2", "3", "4", "5"]


def test_scroll_region_reverse_index_and_insert_delete_lines():
    s = screen("a\r\nb\r\nc\r\nd\x1b[2;3r\x1b[3;1H\n\n")  # region rows 2..3: 'a' and 'd' stay
    assert text(s) == ["a", "", "", "d"]
    s = screen("a\r\nb\r\nc\r\nd\x1b[2;3r\x1b[2;1H\x1bM")  # reverse index at the region's top
    assert text(s) == ["a", "", "b", "d"]
    s = screen("a\r\nb\r\nc\r\nd\x1b[2;1H\x1b[L")
    assert text(s) == ["a", "", "b", "c"]
    s = screen("a\r\nb\r\nc\r\nd\x1b[2;1H\x1b[2M")
    assert text(s) == ["a", "d", "", ""]


def test_erase_in_display_and_line():
    full = "abcdefghij" * 4
    assert text(screen(full + "\x1b[2;4H\x1b[J")) == ["abcdefghij", "abc", "", ""]
    assert text(screen(full + "\x1b[2;4H\x1b[1J")) == ["", "    efghij", "abcdefghij", "abcdefghij"]
    assert text(screen(full + "\x1b[2J")) == ["", "", "", ""]
    assert text(screen(full + "\x1b[1;4H\x1b[K"))[0] == "abc"
    assert text(screen(full + "\x1b[1;4H\x1b[1K"))[0] == "    efghij"
    assert text(screen(full + "\x1b[1;4H\x1b[2K"))[0] == ""
    assert text(screen(full + "\x1b[1;4H\x1b[3X"))[0] == "abc   ghij"


def test_erase_takes_the_current_background():
    s = screen("\x1b[44m\x1b[2J\x1b[0m")
    assert style_at(s, 5, 2) == Style(bg=ANSI16[4])


def test_insert_and_delete_characters():
    assert text(screen("abcdef\x1b[1;3H\x1b[2@"))[0] == "ab  cdef"
    assert text(screen("abcdef\x1b[1;3H\x1b[2P"))[0] == "abef"


def test_sgr_colours_16_256_and_truecolour_in_both_notations():
    s = screen("\x1b[1;31ma\x1b[0;92;44mb\x1b[38;5;196mc\x1b[38;2;1;2;3;48:2::4:5:6md\x1b[7;3;4me\x1b[0mf")
    assert style_at(s, 0, 0) == Style(fg=ANSI16[1], bold=True)
    assert style_at(s, 1, 0) == Style(fg=ANSI16[10], bg=ANSI16[4])
    assert style_at(s, 2, 0).fg == palette(196) == "#ff0000"
    assert style_at(s, 3, 0).fg == "#010203" and style_at(s, 3, 0).bg == "#040506"
    e = style_at(s, 4, 0)
    assert e.reverse and e.italic and e.underline
    assert style_at(s, 5, 0) == PLAIN
    assert palette(232) == "#080808" and palette(16) == "#000000" and palette(231) == "#ffffff"


def test_alternate_screen_keeps_the_main_screen_and_cursor():
    s = screen("main\x1b[2;3H")
    s.feed("\x1b[?1049h")
    assert s.alternate and text(s) == ["", "", "", ""]
    s.feed("\x1b[Halt")
    s.feed("\x1b[?1049l")
    assert not s.alternate and text(s) == ["main", "", "", ""]
    assert (s.x, s.y) == (2, 1)


def test_sequences_split_anywhere_across_feeds_give_the_same_screen():
    data = ("\x1b[?1049h\x1b[?25l\x1b]0;title\x07\x1bP+q544e\x1b\\\x1b[?2026$p\x1b(B"
            "\x1b[2;2H\x1b[38;2;10;20;30m\u2502box\u2500\u4f60\x1b[0m\x1b[3;1Hxy\x1b[K")
    whole = screen(data)
    assert text(whole)[1:3] == [" \u2502box\u2500\u4f60", "xy"] and whole.title == "title"
    assert not whole.cursor_visible
    for cut in range(1, len(data)):
        s = Screen(10, 4)
        s.feed(data[:cut])
        s.feed(data[cut:])
        assert s.frame() == whole.frame(), "split at %d" % cut


def test_wide_characters_take_two_cells_and_combining_ones_none():
    s = screen("\u4f60\u597dx")
    assert [c for c, _ in s.buffer[0][:5]] == ["\u4f60", "", "\u597d", "", "x"]
    s.feed("\x1b[1;2Hz")  # overwriting the right half blanks the left half
    assert [c for c, _ in s.buffer[0][:3]] == [" ", "z", "\u597d"]
    s = screen("e\u0301!")
    assert [c for c, _ in s.buffer[0][:2]] == ["e\u0301", "!"]
    s = screen("012345678\u4f60")  # no room at the last column: it goes to the next line
    assert text(s)[:2] == ["012345678", "\u4f60"]


def test_synchronized_updates_are_tracked_and_queries_ignored():
    s = screen("\x1b[?2026h")
    assert s.synchronized
    s.feed("\x1b[5n\x1b[c\x1b[>0q\x1b[?2026l")
    assert not s.synchronized and text(s) == ["", "", "", ""]


def test_row_runs_group_cells_by_style_and_show_the_cursor():
    s = screen("ab\x1b[1mcd")
    runs = s.row_runs(0)
    assert [(col, n, t) for col, n, _, t in runs] == [(0, 2, "ab"), (2, 2, "cd"), (4, 6, "      ")]
    assert runs[1][2].bold
    with_cursor = s.row_runs(0, cursor=True)
    assert with_cursor[2][:2] == (4, 1) and with_cursor[2][2].reverse
    s.feed("\x1b[?25l")
    assert s.row_runs(0, cursor=True) == runs


def test_resize_keeps_what_fits():
    s = screen("abcdefghij\r\nklm")
    s.resize(4, 2)
    assert text(s) == ["abcd", "klm"]
    s.resize(6, 3)
    assert text(s) == ["abcd", "klm", ""] and (s.cols, s.rows) == (6, 3)
