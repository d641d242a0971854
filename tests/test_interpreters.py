"""--python really works: the runner runs under every CPython 3.9+ found here."""

from __future__ import annotations

import os

import pytest

from execscope.interpreters import discover, probe
from helpers import run_session

FOUND = discover()


def test_discovery_finds_this_interpreter_family():
    # Not an assertion about this machine's contents: discovery must at least
    # not crash and return executable paths.
    for path in discover():
        assert path.startswith("/")


def test_path_is_searched_and_a_wrapper_is_not_a_second_interpreter(tmp_path, monkeypatch):
    """A python3.X on PATH is found (a self-built 3.13t lives there); a wrapper
    there (a pyenv shim) that runs an interpreter found already is not."""
    from execscope import interpreters
    from execscope.errors import UsageError

    real, shim, config = tmp_path / "python3.97t", tmp_path / "python3.99", tmp_path / "python3.97t-config"
    for path in (real, shim, config):
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    runs = {str(real): str(real), str(shim): str(real)}  # what each one's sys.executable says

    def probe(path=None):
        if path not in runs:
            raise UsageError("not ours")
        return {"path": path, "executable": runs[path], "version": [3, 97, 0], "free_threaded_build": True}

    monkeypatch.setattr(interpreters, "probe", probe)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    found = [p for p in discover() if p.startswith(str(tmp_path))]
    assert found == [str(real)]


@pytest.mark.skipif(not FOUND, reason="no other CPython interpreters on this machine")
@pytest.mark.parametrize("python", FOUND)
@pytest.mark.parametrize("executor", ["thread", "process"])
def test_small_run_under_each_interpreter(python, executor):
    info = probe(python)
    method = "spawn" if executor == "process" else None
    session, out = run_session("cpu", executor=executor, start_method=method, workers=2, tasks=6,
                               params={"size": "5000"}, python=python, timeout=60)
    assert out["status"] == "completed", (out["reason"], out["output"])
    assert out["tasks"]["completed"] == 6
    assert out["interpreter"]["version"] == ".".join(map(str, info["version"]))
    assert out["interpreter"]["executable"].startswith(python.rsplit("/bin/", 1)[0])
    # the executor default this interpreter would pick (C4) is reported
    assert out["executor"]["default_max_workers"] >= 1
    if executor == "process":
        assert out["breakdown_s"]["serialize"] > 0 and out["ipc"]["bytes_sent"] > 0


def test_python_gil_in_the_environment_is_what_a_run_will_have(monkeypatch):
    """The probe runs isolated (-I ignores PYTHON_GIL) but runs inherit it: a
    free-threaded build with PYTHON_GIL=1 runs with the GIL, and is said to."""
    from execscope import interpreters

    ft = {"path": "/x/python3.13t", "version": [3, 13, 5], "free_threaded_build": True, "gil_enabled": False}
    gil = {"path": "/x/python3.13", "version": [3, 13, 5], "free_threaded_build": False, "gil_enabled": True}
    monkeypatch.setattr(interpreters, "_probe", lambda python=None: ft if python.endswith("t") else gil)
    monkeypatch.delenv("PYTHON_GIL", raising=False)
    assert interpreters.probe("/x/python3.13t")["gil_enabled"] is False
    monkeypatch.setenv("PYTHON_GIL", "1")
    assert interpreters.probe("/x/python3.13t")["gil_enabled"] is True
    assert ft["gil_enabled"] is False  # the cached facts stay as probed
    assert interpreters.probe("/x/python3.13")["gil_enabled"] is True
