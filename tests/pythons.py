"""The interpreters ``make pythons`` caches (3.14, 3.15, 3.13t), for tests: a
test that needs one skips, naming why it is missing."""

from __future__ import annotations

import pytest

from execscope.interpreters import cached_python


def python_or_skip(name: str) -> str:
    path, why = cached_python(name)
    if path is None:
        pytest.skip(why)
    return path
