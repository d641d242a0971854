"""An unmodified joblib program: Parallel(n_jobs=2) on its default loky backend."""

from __future__ import annotations

import os
import sys

import pytest

from helpers import ROOT
from test_program import run_program

pytest.importorskip("joblib")


def test_joblib_parallel_is_seen_as_its_loky_executor_with_every_call():
    session, data = run_program(sys.executable, os.path.join(ROOT, "tests", "programs", "joblib_parallel.py"), "60")
    assert data["status"] == "completed", data["reason"]
    assert data["program"]["exit_code"] == 0
    assert "60 results" in "\n".join(session.snapshot().program.output_tail)
    pools = [e for e in data["executors"] if e["kind"] == "loky"]
    assert len(pools) == 1, data["executors"]
    pool = pools[0]
    assert pool["via"].endswith("joblib_parallel.py:22") and pool["start_method"] == "loky"
    assert pool["max_workers"] == 2
    assert pool["tasks"]["submitted"] == 60 and pool["tasks"]["completed"] == 60  # batch_size=1: a call each
    assert pool["breakdown_s"]["compute"] > 0 and pool["ipc"]["bytes_sent"] > 0
