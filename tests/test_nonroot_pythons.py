"""The GIL backends of the new interpreters, run by an ordinary user: on 3.15
the flags helper (``_remote_debugging``, run as that user under the target's
interpreter) and on 3.14 py-spy read the user's own run.

``make pythons`` caches the interpreters in root's home, which other users
cannot enter; the unpacked prefix is copied where everyone can read it and
its binaries are pointed at the copy's loader and libraries (``pythons.link_to``),
as ``EXECSCOPE_PYTHONS=/somewhere/shared make pythons`` would have made them."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Dict, Iterator

import pytest

from execscope import pythons
from execscope.interpreters import pythons_cache

from pythons import python_or_skip
from test_gil_calibration import _run_as_nobody, as_root_with_setpriv, needs_pyspy


@pytest.fixture(scope="module")
def shared() -> Iterator[Dict[str, str]]:
    """{"3.14": path, "3.15": path} in a copy of the cached prefix readable by all."""
    for name in ("3.14", "3.15"):
        python_or_skip(name)
    patchelf = pythons.find_patchelf(pythons_cache())
    tmp = tempfile.mkdtemp(prefix="execscope-nobody-pythons-")
    try:
        os.chmod(tmp, 0o755)
        root = os.path.join(tmp, "debian")
        shutil.copytree(os.path.join(pythons_cache(), "debian"), root, symlinks=True)
        found = {}
        for name in ("3.14", "3.15"):
            binary = os.path.join(root, "usr", "bin", "python%s" % name)
            pythons.link_to(patchelf, binary, root)
            found[name] = binary
        for base, dirs, files in os.walk(root):
            for entry in dirs + files:
                path = os.path.join(base, entry)
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode | 0o555 if entry in dirs else
                             os.stat(path).st_mode | 0o444)
        yield found
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _nobody_run(python: str) -> dict:
    tmp = tempfile.mkdtemp(prefix="execscope-nobody-")
    try:
        os.chmod(tmp, 0o777)
        out = _run_as_nobody(tmp, ["run", "cpu", "--python", python, "--executor", "thread", "--workers", "2",
                                   "--duration", "3", "--headless", "--json", os.path.join(tmp, "run.json")])
        assert out.returncode == 0, out.stdout + out.stderr
        with open(os.path.join(tmp, "run.json")) as fh:
            return json.load(fh)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _pool(doc: dict) -> list:
    return [t for t in doc["gil"]["threads"] if t["name"].startswith("worker_")]


@needs_pyspy  # _run_as_nobody hands the user a copy of py-spy
@as_root_with_setpriv
def test_an_ordinary_user_gets_the_flags_of_its_own_315_run(shared: Dict[str, str]) -> None:
    doc = _nobody_run(shared["3.15"])
    assert doc["status"] == "completed", doc["reason"]
    g = doc["gil"]
    assert g["source"] == "flags", g["reason"]
    pool = _pool(doc)
    assert len(pool) == 2, g["threads"]
    for t in pool:  # two pure-Python threads on one GIL: each holds it part of the time, waits part
        assert t["held"] > 0.15 and t["wait"] > 0.1, pool


@needs_pyspy
@as_root_with_setpriv
def test_an_ordinary_user_gets_py_spy_figures_for_its_own_314_run(shared: Dict[str, str]) -> None:
    doc = _nobody_run(shared["3.14"])
    assert doc["status"] == "completed", doc["reason"]
    g = doc["gil"]
    assert g["source"] == "py-spy", g["reason"]
    pool = _pool(doc)
    assert len(pool) == 2, g["threads"]
    assert all(t["held"] > 0.15 for t in pool), pool
    assert any(t["wait"] > 0.1 for t in pool), pool  # the GIL's named timed wait, without symbols
