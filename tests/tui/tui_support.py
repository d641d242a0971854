"""Helpers for the TUI tests (the app drivers live in ``execscope.tui.fake``, shared with
the screenshot script)."""

from __future__ import annotations

import asyncio
import functools

from execscope.tui.fake import make_app, screen_text, settle, settle_compare  # noqa: F401


def aio(test):
    """Run an async test function in its own event loop (no pytest plugin needed)."""
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))
    return wrapper
