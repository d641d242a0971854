"""A user's project may hold modules named like execscope's folders
(``workloads.py``, ``tui.py``, even an ``execscope`` package of its own):
execscope must still run its own code, and the user's code must still find
the user's modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from helpers import ROOT

EXECSCOPE = os.path.join(os.path.dirname(sys.executable), "execscope")

SHADOWS = {
    "workloads.py": "raise SystemExit('the user workloads.py was imported by execscope')\n"
                    "def square(i):\n    return i * i\n",
    "tui.py": "raise SystemExit('the user tui.py was imported by execscope')\n",
}


def _project(tmp_path, shadows):
    for name, text in shadows.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def _run(tmp_path, *args):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return subprocess.run([EXECSCOPE, *args], cwd=str(tmp_path), capture_output=True, text=True,
                          timeout=120, env=env)


def test_builtin_workload_runs_beside_user_modules_of_the_same_names(tmp_path):
    _project(tmp_path, SHADOWS)
    pkg = tmp_path / "execscope"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise SystemExit('the user execscope package was imported')\n")
    out = tmp_path / "run.json"
    result = _run(tmp_path, "run", "cpu", "--executor", "process", "--start-method", "spawn",
                  "--workers", "2", "--tasks", "8", "--param", "size=2000", "--headless", "--json", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    run = json.loads(out.read_text())
    assert run["status"] == "completed"
    assert run["tasks"]["completed"] == 8
    assert run["interpreter"]["version"].startswith("3.")


def test_user_module_named_workloads_still_resolves_for_the_user(tmp_path):
    _project(tmp_path, {"workloads.py": "def square(i):\n    return i * i\n", "tui.py": SHADOWS["tui.py"]})
    (tmp_path / "prog.py").write_text(
        "from concurrent.futures import ThreadPoolExecutor\n"
        "import workloads\n"
        "with ThreadPoolExecutor(2) as ex:\n"
        "    print('sum', sum(ex.map(workloads.square, range(40))))\n")
    out = tmp_path / "prog.json"
    result = _run(tmp_path, "run", "--headless", "--json", str(out), "--", sys.executable, "prog.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sum %d" % sum(i * i for i in range(40)) in result.stdout
    run = json.loads(out.read_text())
    assert [e["tasks"]["completed"] for e in run["executors"]] == [40]
    # and as a module:function workload, in spawn workers too
    out2 = tmp_path / "fn.json"
    result = _run(tmp_path, "run", "workloads:square", "--executor", "process", "--start-method", "spawn",
                  "--workers", "2", "--tasks", "6", "--headless", "--json", str(out2))
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(out2.read_text())["tasks"]["completed"] == 6
