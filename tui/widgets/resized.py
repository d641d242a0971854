"""``Resized``: a line the screen never gives up (the tour's lines, a step's
rows) changed height, so the panels below it must be measured again.

Textual's own Resize event does not bubble; this message does, and the live
screen answers it by fitting its panels to the rows that are left.
"""

from __future__ import annotations

from textual.message import Message


class Resized(Message):
    """Posted by a widget whose height the live screen's layout depends on."""
