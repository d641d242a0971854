"""Helpers for the TUI tests (the app drivers live in ``tui_fake``, shared with
the screenshot script)."""

from __future__ import annotations

import asyncio
import functools

from tui_fake import make_app, screen_text, settle, settle_compare  # noqa: F401


def aio(test):
    """Run an async test function in its own event loop (no pytest plugin needed)."""
    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))
    return wrapper
