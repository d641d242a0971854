"""Queue depth read from the executors' own structures (runner/probes.py)
agrees with what was submitted, on every interpreter found here: at each
point of a real run's timeline, the tasks waiting for a worker are those
submitted and neither finished nor held by a worker.  A probe that read the
wrong attribute, or none, breaks that identity (the fallback count is only
used when the probe says it cannot read)."""

from __future__ import annotations

import sys

import pytest

from execscope.families import uses_processes
from execscope.interpreters import discovered, probe
from helpers import run_session


def _interpreters():
    found = {tuple(probe()["version"][:2]): sys.executable}
    for info in discovered():
        version = tuple(info["version"][:2])
        if version >= (3, 9) and info.get("gil_enabled", True):
            found.setdefault(version, info["path"])
    return [pytest.param(path, id="%d.%d" % version) for version, path in sorted(found.items())]


def _check_identity(run, in_worker, returning=0):
    """``returning``: how many finished tasks may be on their way back (a
    process worker is idle again while its result still sits in the result
    pipe for the parent's management thread, later on a loaded machine):
    those are neither waiting, nor in a worker, nor counted finished yet."""
    active = [p for p in run["timeline"] if p["submitted"] and p["submitted"] > p["completed"] + p["failed"]]
    assert len(active) >= 4, run["timeline"]
    deep = [p for p in active if p["queue_depth"] >= 3]
    assert len(deep) >= 2, "never saw the queue: %s" % run["timeline"]
    for p in active:
        waiting = p["submitted"] - p["completed"] - p["failed"] - in_worker(p)
        # one task may change hands between the runner's reads of the executor and of its counters
        assert -1 - returning <= p["queue_depth"] - waiting <= 1, (p, run["timeline"])


@pytest.mark.parametrize("python", _interpreters())
def test_thread_pool_queue_depth_is_submitted_minus_finished_minus_running(python):
    _, run = run_session("io", executor="thread", workers=1, tasks=10, params={"latency_ms": "60"},
                         python=python)
    assert run["status"] == "completed", run.get("reason")
    _check_identity(run, lambda p: p["running"] + p["blocked"])


@pytest.mark.parametrize("python", _interpreters())
def test_process_pool_queue_depth_counts_the_call_queue_as_waiting(python):
    _, run = run_session("io", executor="process", start_method="fork", workers=1, tasks=10,
                         params={"latency_ms": "60"}, python=python)
    assert run["status"] == "completed", run.get("reason")
    _check_identity(run, lambda p: p["running"], returning=1)
    assert any(p["dispatched"] >= 1 for p in run["timeline"]), "the call queue was never seen"


def _family(executor):
    """The families whose queue is read through their own adapter (``queue_depths``)
    or, for interpreter pools, a thread pool's work queue: on the interpreter
    running the tests, the interpreter pool on the cached 3.14+."""
    if executor == "interpreter":
        from pythons import python_or_skip

        return {"python": python_or_skip("3.14")}
    return {"start_method": "fork"} if executor == "pool" else {}


@pytest.mark.parametrize("executor", ["pool", "loky", "interpreter"])
def test_every_other_family_queue_depth_is_submitted_minus_finished_minus_running(executor):
    _, run = run_session("io", executor=executor, workers=1, tasks=10, params={"latency_ms": "60"},
                         **_family(executor))
    assert run["status"] == "completed", run.get("reason")
    _check_identity(run, lambda p: p["running"], returning=1 if uses_processes(executor) else 0)
