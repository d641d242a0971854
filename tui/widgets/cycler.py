"""A one-line choice: ``executor  ◀ thread ▶`` — left/right (or space) to change.

Compact enough for an 80x24 form, and all keyboard.  Posts ``Cycler.Changed``.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class Cycler(Widget, can_focus=True):
    DEFAULT_CSS = """
    Cycler { height: 1; width: 1fr; }
    Cycler:focus { text-style: bold; background: $boost; }
    Cycler.-disabled { color: $text-disabled; }
    """
    BINDINGS = [
        Binding("left,h", "move(-1)", "previous", show=False),
        Binding("right,l,space", "move(1)", "next", show=False),
    ]

    index: reactive[int] = reactive(0)

    class Changed(Message):
        def __init__(self, cycler: "Cycler", value: str) -> None:
            super().__init__()
            self.cycler = cycler
            self.value = value

        @property
        def control(self) -> "Cycler":
            return self.cycler

    def __init__(self, label: str, choices: Sequence[str], value: Optional[str] = None, *,
                 id: Optional[str] = None, note: str = "") -> None:
        super().__init__(id=id)
        self.label = label
        self.choices = list(choices)
        self.note = note
        self.set_reactive(Cycler.index, self.choices.index(value) if value in self.choices else 0)

    @property
    def value(self) -> str:
        return self.choices[self.index] if self.choices else ""

    def set_choices(self, choices: Sequence[str], value: Optional[str] = None) -> None:
        current = value if value is not None else self.value
        self.choices = list(choices)
        self.index = self.choices.index(current) if current in self.choices else 0
        self.refresh()

    def action_move(self, step: int) -> None:
        if not self.choices or self.has_class("-disabled"):
            return
        self.index = (self.index + step) % len(self.choices)
        self.post_message(self.Changed(self, self.value))

    def render(self) -> Text:
        text = Text()
        text.append("%-13s" % self.label, style="bold" if self.has_focus else "")
        if self.has_class("-disabled"):
            text.append("  —  " + self.note, style="dim")
            return text
        text.append("◀ ", style="dim")
        first, last = visible_window([len(c) + 3 for c in self.choices], self.index,
                                     (self.size.width or 80) - 13 - 4)
        if first:
            text.append("… ", style="dim")
        for i in range(first, last):
            if i > first:
                text.append(" ")
            choice = self.choices[i]
            if i == self.index:
                text.append("[%s]" % choice, style="bold reverse")
            else:
                text.append(" %s " % choice, style="dim")
        if last < len(self.choices):
            text.append(" …", style="dim")
        text.append(" ▶", style="dim")
        return text


def visible_window(widths: Sequence[int], index: int, room: int) -> Tuple[int, int]:
    """The choices ``[first, last)`` drawn in ``room`` columns: all when they
    fit, else a run around the chosen one (each cut side costs 2 columns for
    its "…").

    >>> visible_window([9, 9, 10, 7], 2, 80)
    (0, 4)
    >>> visible_window([9, 9, 10, 7, 7, 7, 14], 3, 30)
    (2, 5)
    >>> visible_window([9, 9, 10, 7, 7, 7, 14], 0, 30)
    (0, 3)
    """
    n = len(widths)

    def cost(first: int, last: int) -> int:
        return sum(widths[first:last]) + (2 if first > 0 else 0) + (2 if last < n else 0)

    if cost(0, n) <= room:
        return 0, n
    first, last = index, index + 1
    grown = True
    while grown:
        grown = False
        if last < n and cost(first, last + 1) <= room:
            last, grown = last + 1, True
        if first > 0 and cost(first - 1, last) <= room:
            first, grown = first - 1, True
    return first, last
