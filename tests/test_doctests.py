"""Every docstring example runs: each module of the package (``execscope/``,
``tui/``, ``workloads/``) and of the test fixtures whose source shows one
(``>>>``) is collected here, so an example cannot silently rot."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import os
import pkgutil
from typing import List

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
# folder -> the import prefix of what it holds (see execscope/__init__.py)
FOLDERS = (
    ("execscope", "execscope."),
    ("tui", "execscope.tui."),
    ("workloads", "execscope.workloads."),
    (os.path.join("tests", "fixtures"), "fixtures."),
)


def modules_with_examples() -> List[str]:
    found = []
    for folder, prefix in FOLDERS:
        for info in pkgutil.walk_packages([os.path.join(ROOT, folder)], prefix):
            spec = importlib.util.find_spec(info.name)
            if spec is None or not spec.origin or not spec.origin.endswith(".py"):
                continue
            with open(spec.origin, encoding="utf-8") as fh:
                if ">>> " in fh.read():
                    found.append(info.name)
    return sorted(found)


MODULES = modules_with_examples()


def test_the_collection_finds_the_modules_with_examples():
    # one module from each folder: a broken mapping would silently collect nothing
    for name in ("execscope.fmt", "execscope.detect.oversubscription", "execscope.tui.fmt",
                 "fixtures.snapshots"):
        assert name in MODULES
    assert len(MODULES) >= 15


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, "%s shows '>>> ' but no example ran" % name
    assert result.failed == 0
