"""Dask distributed: ``--executor dask`` (a LocalCluster the runner starts) and
unmodified programs that start their own.

A cluster takes seconds to start on two loaded cores: a few real runs here,
small sizes, generous timeouts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from execscope.compare import parse_executors
from execscope.families import missing_requirement
from execscope.model import RunConfig
from execscope.report import run_json
from execscope.session import Session
from helpers import ROOT, still_running
from test_program import run_program

pytest.importorskip("distributed")

PROGRAMS = os.path.join(ROOT, "tests", "programs")
NOT_TIMED_BY_DASK = ("serialize", "deserialize", "result_serialize", "result_transfer", "result_deserialize")


class Watched:
    """What the live snapshots showed: the deepest queue and every Dask worker pid with a row."""

    def __init__(self) -> None:
        self.max_queued = 0
        self.worker_pids: set = set()

    def __call__(self, snap) -> None:  # type: ignore[no-untyped-def]
        views = [ex for ex in snap.executors if ex.kind == "dask"]
        counts = [ex.counts for ex in views] or [snap.counts]
        self.max_queued = max([self.max_queued] + [c.queued for c in counts])
        workers = [w for ex in views for w in ex.workers] or list(snap.workers)
        self.worker_pids.update(w.pid for w in workers if w.kind == "process")


def test_a_dask_run_counts_every_task_with_a_row_per_worker_process():
    watched = Watched()
    session = Session(RunConfig(workload="cpu", executor="dask", workers=2, tasks=40, params={"size": "200000"},
                                gil_sampling=False), listener=watched)
    session.run(timeout=120)
    out = run_json(session.record())
    assert out["status"] == "completed", out["reason"]
    assert out["tasks"]["submitted"] == 40 and out["tasks"]["completed"] == 40 and out["tasks"]["failed"] == 0
    rows = out["workers"]
    assert len({w["pid"] for w in rows}) == 2 and all(w["kind"] == "process" for w in rows)
    assert sum(w["tasks_done"] for w in rows) == 40  # each worker's own count, from its slot
    assert watched.max_queued > 0  # 40 tasks of ~15 ms, 2 workers: most wait over several ticks
    b = out["breakdown_s"]
    assert b["compute"] > 0 and b["queue_wait"] > 0 and b["transfer"] == 0.0  # no inputs from other workers
    assert all(b[name] is None for name in NOT_TIMED_BY_DASK)
    assert {u["panel"] for u in out["unavailable"]} == set(NOT_TIMED_BY_DASK) | {"ipc"}


def test_a_dask_program_mapping_200_tasks_is_one_executor_of_its_own():
    watched = Watched()
    session = Session(RunConfig(workload="dask_map", argv=(sys.executable, os.path.join(PROGRAMS, "dask_map.py"),
                                                           "200"), gil_sampling=False), listener=watched)
    session.run(timeout=120)
    data = run_json(session.record())
    assert data["status"] == "completed", data["reason"]
    assert data["program"]["exit_code"] == 0
    assert "200 results" in "\n".join(session.snapshot().program.output_tail)
    # Dask's own thread pools (in the program and in its workers) are not the program's executors
    assert [e["kind"] for e in data["executors"]] == ["dask"], data["executors"]
    ex = data["executors"][0]
    assert ex["created_at"].endswith("dask_map.py:25") and ex["max_workers"] == 2
    assert ex["tasks"]["submitted"] == 200 and ex["tasks"]["completed"] == 200
    assert ex["breakdown_s"]["compute"] > 0 and ex["breakdown_s"]["serialize"] is None
    assert len(watched.worker_pids) == 2 and watched.max_queued > 0


def test_sigterm_in_the_middle_of_a_dask_run_stops_it_and_leaves_nothing(tmp_path):
    out = tmp_path / "run.json"
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen([sys.executable, "-m", "execscope", "run", "cpu", "--executor", "dask", "--workers",
                             "2", "--duration", "60", "--headless", "--no-gil", "--json", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tree: list = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the runner, and the two Dask workers it started
            tree = psutil.Process(proc.pid).children(recursive=True)
            if len(tree) >= 3 and proc.poll() is None:
                break
            time.sleep(0.2)
        time.sleep(3.0)  # let tasks run
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 1, (stdout, stderr)
    assert "Traceback" not in stderr
    data = json.loads(out.read_text())
    assert data["status"] == "interrupted" and "SIGTERM" in data["reason"]
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not still_running(alive)


def test_compare_takes_dask_and_a_missing_distributed_is_one_line(monkeypatch):
    assert [c.label for c in parse_executors("serial,process,pool,loky,dask")][-1] == "dask"
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    assert missing_requirement("dask") == ("--executor dask needs the distributed package: "
                                           "pip install 'execscope[dask]'")
