"""--python really works: the runner runs under every CPython 3.9+ found here."""

from __future__ import annotations

import os

import pytest

from execscope.interpreters import discover, probe
from helpers import run_session

FOUND = discover()


def test_discovery_finds_the_interpreter_running_the_tests(monkeypatch):
    """The CPython behind this virtualenv is found once it is on PATH (it is
    wherever `make test` made the venv with `python3`), under its real path."""
    import sys

    real = os.path.realpath(sys.executable)
    monkeypatch.setenv("PATH", os.path.dirname(real) + os.pathsep + os.environ.get("PATH", ""))
    found = discover()
    assert all(os.path.isabs(p) and os.access(p, os.X_OK) for p in found), found
    assert real in {os.path.realpath(p) for p in found}, (real, found)


def test_path_is_searched_and_a_wrapper_is_not_a_second_interpreter(tmp_path, monkeypatch):
    """A python3.X on PATH is found (a self-built 3.13t lives there), once
    whatever its names or launchers; a script there (a pyenv shim) is not even run."""
    from execscope import interpreters
    from execscope.errors import UsageError

    real, link, shim, config = (tmp_path / "python3.97t", tmp_path / "python3.98", tmp_path / "python3.99",
                                tmp_path / "python3.97t-config")
    real.write_bytes(b"\x7fELF")  # a binary, as an interpreter is
    link.symlink_to(real)  # another name for it
    shim.write_text("#!/bin/sh\n")  # a script: a wrapper, not run to find out
    config.write_bytes(b"\x7fELF")
    launcher = tmp_path / "python3.94"  # a binary that runs the other one
    launcher.write_bytes(b"\x7fELF")
    for path in (real, shim, config, launcher):
        path.chmod(0o755)
    runs = {str(real): str(real), str(launcher): str(real)}  # what each one's sys.executable says

    def probe(path=None):
        if path not in runs:
            raise UsageError("not ours")
        return {"path": path, "executable": runs[path], "version": [3, 97, 0], "free_threaded_build": True}

    asked = []
    monkeypatch.setattr(interpreters, "probe", lambda path=None: asked.append(path) or probe(path))
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    found = [p for p in discover() if p.startswith(str(tmp_path))]
    assert found == [str(real)]
    assert str(shim) not in asked and str(config) not in asked


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
    monkeypatch.setattr(interpreters, "_probe", lambda python=None: (ft if python.endswith("t") else gil, ""))
    monkeypatch.setattr(interpreters, "_which", lambda python: python)
    monkeypatch.delenv("PYTHON_GIL", raising=False)
    assert interpreters.probe("/x/python3.13t")["gil_enabled"] is False
    monkeypatch.setenv("PYTHON_GIL", "1")
    assert interpreters.probe("/x/python3.13t")["gil_enabled"] is True
    assert ft["gil_enabled"] is False  # the cached facts stay as probed
    assert interpreters.probe("/x/python3.13")["gil_enabled"] is True


def test_a_failed_probe_is_remembered_but_a_missing_file_is_not(tmp_path, monkeypatch):
    from execscope import interpreters
    from execscope.errors import UsageError

    asked = []
    real_ask = interpreters._ask
    monkeypatch.setattr(interpreters, "_ask", lambda python=None: asked.append(python) or real_ask(python))
    not_python = tmp_path / "python3.96"
    not_python.write_text("#!/bin/sh\nexit 3\n")
    not_python.chmod(0o755)
    for _ in range(2):
        with pytest.raises(UsageError, match="not a Python 3 interpreter"):
            interpreters.probe(str(not_python))
    assert asked == [str(not_python)]  # asked once
    later = tmp_path / "python3.95"
    with pytest.raises(UsageError, match="no such executable"):
        interpreters.probe(str(later))
    later.symlink_to(interpreters.probe()["path"])
    assert interpreters.probe(str(later))["version"]  # there now: found
