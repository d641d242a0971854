"""Text pieces shared by the panels: pure functions, no widgets.

Meaning never rides on colour alone: every level has a glyph, every state a
word and a symbol, so NO_COLOR and monochrome terminals stay readable.

    >>> level_glyph(0.0), level_glyph(50.0), level_glyph(100.0)
    ('·', '▄', '█')
    >>> hbar(50, 100, 8)
    '████    '
"""

from __future__ import annotations

import math
import textwrap
from typing import Optional

from rich.text import Text

from execscope.fmt import fmt_bytes, fmt_rate, fmt_s

__all__ = ["fmt_s", "fmt_bytes", "fmt_rate", "fmt_pct", "level_glyph", "level_style",
           "hbar", "status_text", "STATUS", "WORKER_STATES", "natural_key", "wrap"]

_EIGHTHS = " ▏▎▍▌▋▊▉█"
_LEVELS = "▁▂▃▄▅▆▇█"

# status -> (symbol, style)
STATUS = {
    "starting": ("◌", "yellow"),
    "running": ("▶", "bold green"),
    "completed": ("✓", "bold cyan"),
    "failed": ("✗", "bold red"),
    "timeout": ("◷", "bold red"),
    "deadlock": ("✗", "bold red reverse"),
    "interrupted": ("■", "bold yellow"),
    "idle": ("·", "dim"),
}

# worker state -> (symbol, short word, style)
WORKER_STATES = {
    "idle": ("·", "idle", "dim"),
    "running": ("▶", "task", "green"),
    "blocked": ("‖", "waits on", "bold red"),
    "receiving": ("⇣", "receive", "magenta"),
    "deserializing": ("⇣", "unpickle", "magenta"),
    "serializing": ("⇡", "pickle", "magenta"),
    "sending": ("⇡", "send", "magenta"),
    "starting": ("◌", "starting", "yellow"),
}


def fmt_pct(value: Optional[float], width: int = 4) -> str:
    """Percent without decimals, right-aligned; '-' when unknown."""
    if value is None:
        return "-".rjust(width)
    return ("%d%%" % round(value)).rjust(width)


def level_glyph(percent: float) -> str:
    """One character for a 0..100 level: '·' for idle, then ▁ to █."""
    if percent < 3:
        return "·"
    idx = min(len(_LEVELS) - 1, max(0, int(math.ceil(percent / 100.0 * len(_LEVELS))) - 1))
    return _LEVELS[idx]


def level_style(percent: float) -> str:
    if percent >= 85:
        return "bold red"
    if percent >= 50:
        return "yellow"
    if percent >= 3:
        return "green"
    return "dim"


def hbar(value: float, top: float, width: int) -> str:
    """Horizontal bar with eighth-cell resolution, padded to ``width``."""
    if width <= 0:
        return ""
    frac = 0.0 if top <= 0 else max(0.0, min(1.0, value / top))
    eighths = int(round(frac * width * 8))
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    return text.ljust(width)[:width]


def status_text(status: str) -> str:
    symbol, _ = STATUS.get(status, ("?", ""))
    return "%s %s" % (symbol, status)


def natural_key(label: str):
    """Sort ``worker_2`` before ``worker_10``."""
    parts = []
    num = ""
    for ch in label + " ":
        if ch.isdigit():
            num += ch
            continue
        if num:
            parts.append((0, int(num), ""))
            num = ""
        parts.append((1, 0, ch))
    return parts


def wrap(text: Text, words: str, width: int, style: str = "", indent: str = "",
         first: int = 0) -> None:
    """Append ``words`` to ``text`` wrapped to ``width`` (panels never let Textual
    wrap: knowing the line count lets them skip layout passes).  ``first`` is
    how many columns the current line already uses; continuation lines start
    with ``indent``.  Ends with a newline."""
    lines = textwrap.wrap(words, width=max(8, width - first), subsequent_indent="",
                          break_long_words=True, break_on_hyphens=False) or [""]
    text.append(lines[0] + "\n", style=style)
    rest = " ".join(lines[1:])
    if rest:
        for line in textwrap.wrap(rest, width=max(8, width - len(indent)), break_long_words=True,
                                  break_on_hyphens=False):
            text.append(indent + line + "\n", style=style)
