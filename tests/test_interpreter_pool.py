"""``--executor interpreter``: CPython 3.14+'s InterpreterPoolExecutor, run and watched.

Needs the interpreters ``make pythons`` caches (each test skips, naming why,
when its interpreter is missing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import namedtuple

import pytest

from execscope.compare import parse_executors
from execscope.errors import UsageError
from execscope.families import is_isolated, python_problem, supports, uses_processes
from execscope.sampling.gilflags_helper import sample_keys

from helpers import cli
from pythons import python_or_skip

PROGRAM = os.path.join(os.path.dirname(__file__), "programs", "interp_pool.py")


def run_json(tmp_path, python: str, *args: str) -> dict:
    out_path = tmp_path / "run.json"
    out = cli("run", "cpu", "--python", python, "--executor", "interpreter", "--workers", "2",
              "--headless", "--json", str(out_path), *args, timeout=180)
    assert out.returncode == 0, out.stderr
    return json.loads(out_path.read_text())


def test_on_314_each_worker_interpreter_is_a_row_and_every_phase_is_measured(tmp_path) -> None:
    doc = run_json(tmp_path, python_or_skip("3.14"), "--tasks", "40")
    assert doc["status"] == "completed", doc["reason"]
    assert doc["tasks"]["completed"] == 40 and doc["tasks"]["failed"] == 0
    (ex,) = doc["executors"]
    assert ex["kind"] == "interpreter" and ex["max_workers"] == 2
    workers = doc["workers"]
    assert len(workers) == 2, workers
    assert sum(w["tasks_done"] for w in workers) == 40
    labels = sorted(w["label"] for w in workers)
    assert all("(interpreter " in label for label in labels), labels
    assert len({label.rsplit("(interpreter ", 1)[1] for label in labels}) == 2, "one interpreter each"
    b = doc["breakdown_s"]
    for phase in ("queue_wait", "serialize", "transfer", "deserialize", "compute",
                  "result_serialize", "result_transfer", "result_deserialize"):
        assert b[phase] > 0, (phase, b)
    assert b["compute"] > b["serialize"] + b["deserialize"], b  # the cpu task is the work
    assert doc["ipc"]["bytes_sent"] > 0 and doc["ipc"]["bytes_received"] > 0
    # start-up: the pool made -> each worker's interpreter created and initialized
    assert all(w["startup_s"] and w["startup_s"] > 0 for w in workers), workers
    assert 0 < doc["worker_startup_s"]["mean"] <= doc["worker_startup_s"]["max"]


def test_on_315_each_worker_holds_its_own_interpreters_gil(tmp_path) -> None:
    doc = run_json(tmp_path, python_or_skip("3.15"), "--duration", "3")
    g = doc["gil"]
    assert g["source"] == "flags", g["reason"]
    pool = [t for t in g["threads"] if t["name"].startswith("interp_")]
    assert len(pool) == 2, g["threads"]
    for t in pool:
        # pure Python on two GILs: each worker holds its own nearly all the
        # time, never queueing for it (on one GIL: held ~0.5, wait ~0.5)
        assert t["held"] > 0.6 and t["wait"] < 0.1, pool
        assert t["samples"] <= g["threads"][0]["samples"] + 5, "a thread is counted once per sample"


def test_on_314_py_spy_gives_the_workers_no_figure_and_says_why(tmp_path) -> None:
    """py-spy reads the main interpreter only: what it sees of a worker thread
    (parked there while its task runs in the subinterpreter) is not its GIL."""
    doc = run_json(tmp_path, python_or_skip("3.14"), "--duration", "3")
    g = doc["gil"]
    if g["source"] != "py-spy":
        pytest.skip("py-spy could not sample here: %s" % g["reason"])
    assert "py-spy reads only the main interpreter" in g["reason"], g["reason"]
    workers = doc["workers"]
    assert len(workers) == 2
    assert all(w["gil_held"] is None and w["gil_wait"] is None for w in workers), workers
    shown = {t["tid"] for t in g["threads"]}
    assert not shown & {w["tid"] for w in workers} and 0 not in shown, g["threads"]


def test_a_python_before_314_is_refused_with_one_line(tmp_path) -> None:
    old = sys.executable if sys.version_info < (3, 14) else None
    if old is None:
        pytest.skip("the test runs under %s, which has InterpreterPoolExecutor" % sys.version.split()[0])
    out = cli("run", "cpu", "--python", old, "--executor", "interpreter", "--headless")
    assert out.returncode == 2
    line = out.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "needs CPython 3.14 or newer" in line and "%d.%d" % sys.version_info[:2] in line


def test_a_program_on_314_keeps_working_and_its_interpreter_pool_is_watched(tmp_path) -> None:
    python = python_or_skip("3.14")
    out_path = tmp_path / "run.json"
    out = cli("run", "--headless", "--json", str(out_path), "--", python, PROGRAM, timeout=180)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out_path.read_text())
    assert doc["status"] == "completed", doc["reason"]
    assert doc["output"]["tail"] == ["sum 1240", "caught 13 is unlucky"]  # nothing else: no warning
    (ex,) = doc["executors"]
    assert ex["kind"] == "interpreter"
    assert ex["tasks"]["completed"] == 16 and ex["tasks"]["failed"] == 1  # the task that raises
    assert ex["breakdown_s"]["transfer"] > 0 and ex["breakdown_s"]["compute"] > 0
    assert "ValueError: 13 is unlucky" in json.dumps(doc["errors"])
    # the task's pickling happens inside CPython's own crossing: not a 0, unavailable with why
    assert ex["breakdown_s"]["serialize"] is None and ex["breakdown_s"]["deserialize"] is None
    assert ex["breakdown_s"]["result_serialize"] > 0  # the result's is timed (in the subinterpreter)
    why = {u["panel"]: u["reason"] for u in doc["unavailable"]}
    assert "inside CPython's own call" in why["serialize"] and "ipc" in why, why


WORKLOAD_FILE = """
import threading


def square(i):
    return i * i


def lock(i):
    return threading.Lock()
"""


def test_a_file_workload_runs_in_the_subinterpreters_and_what_cannot_cross_says_so(tmp_path) -> None:
    python = python_or_skip("3.14")
    (tmp_path / "interp_work.py").write_text(WORKLOAD_FILE)
    results = {}
    for name in ("square", "lock"):
        out_path = tmp_path / ("%s.json" % name)
        out = cli("run", "%s:%s" % (tmp_path / "interp_work.py", name), "--python", python, "--executor",
                  "interpreter", "--workers", "2", "--tasks", "6", "--headless", "--json", str(out_path), timeout=120)
        results[name] = (out.returncode, json.loads(out_path.read_text()))
    code, doc = results["square"]
    assert code == 0 and doc["status"] == "completed" and doc["tasks"]["completed"] == 6, doc["reason"]
    code, doc = results["lock"]
    assert code == 1 and doc["status"] == "failed" and doc["tasks"]["failed"] == 6
    assert doc["errors"][0]["message"] == "result cannot be pickled: TypeError: cannot pickle '_thread.lock' object"


def test_the_family_crosses_interpreters_without_processes() -> None:
    assert is_isolated("interpreter") and not uses_processes("interpreter")
    assert supports("interpreter", ("serial", "thread", "process"))
    assert python_problem("interpreter", (3, 14, 0), "x") is None
    assert "3.13.1" in python_problem("interpreter", (3, 13, 1), "python3.13")
    assert python_problem("thread", (3, 9, 0), "x") is None
    assert [c.executor for c in parse_executors("thread,interpreter")] == ["thread", "interpreter"]
    with pytest.raises(UsageError):
        parse_executors("interpreter:fork")


Interp = namedtuple("Interp", "interpreter_id threads")
Thread = namedtuple("Thread", "thread_id status frame_info")
Frame = namedtuple("Frame", "funcname filename")
HAS_GIL, REQUESTED = 1, 8


def test_a_thread_inside_a_subinterpreter_counts_once_where_it_runs() -> None:
    def thread(tid: int, status: int, fn: str) -> Thread:
        return Thread(tid, status, [Frame(fn, "x.py")])

    main = Interp(0, [thread(1, 0, "wait"), thread(2, 4, "_call"), thread(3, 4, "_call"), thread(4, HAS_GIL, "get")])
    subs = [Interp(1, [thread(2, HAS_GIL | 4, "spin")]), Interp(2, [thread(3, REQUESTED, "spin")])]
    keys = sorted(sample_keys([main] + subs, HAS_GIL, REQUESTED))
    assert [(i, tid, state) for i, tid, state, _ in keys] == [
        (0, 1, "other"), (0, 4, "held"), (1, 2, "held"), (2, 3, "wait")]
    # parked in both: the innermost interpreter is where it is
    keys = sample_keys([Interp(0, [thread(5, 0, "_call")]), Interp(3, [thread(5, 0, "sleep")])], HAS_GIL, REQUESTED)
    assert [(i, tid) for i, tid, _, _ in keys] == [(3, 5)]


def test_the_interpreter_side_imports_only_what_a_subinterpreter_can() -> None:
    python = python_or_skip("3.14")
    code = ("from concurrent import interpreters\n"
            "i = interpreters.create()\n"
            "i.exec('import execscope.runner.interp_task')\n"
            "i.close()\n")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
