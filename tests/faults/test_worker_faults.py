"""Faults inside the run: workers killed, crashing or exiting; tasks raising,
hanging, flooding output, leaving grandchildren; arguments and results that
cannot be pickled.  Each ends in a clear status and message, the measurements
so far are kept, and no process started by the run survives (the autouse
fixture in tests/conftest.py checks every test)."""

from __future__ import annotations

import os
import signal

from helpers import ROOT, cli, load, run_session, start_session, wait_for

FIXTURE = os.path.join(ROOT, "tests", "fixtures", "custom_tasks.py")
OBJECTS = os.path.join(ROOT, "tests", "fixtures", "workload_objects.py")


def test_worker_sigkill_is_a_broken_pool():
    session = start_session("cpu", executor="process", start_method="spawn", workers=2, tasks=400)
    try:
        snap = wait_for(session, lambda s: any(w.state == "running" and w.pid for w in s.workers))
        victim = next(w.pid for w in snap.workers if w.state == "running" and w.pid)
        os.kill(victim, signal.SIGKILL)
        final = session.wait(timeout=20)
    finally:
        session.close()
    assert final.status == "failed"
    assert "broken" in final.reason.lower() or "terminated" in final.reason.lower()
    assert (victim, -signal.SIGKILL) in final.worker_exits


def test_failing_tasks_are_counted_and_the_first_error_shown(tmp_path):
    out = tmp_path / "o.json"
    result = cli("run", FIXTURE + ":sometimes_fails", "--tasks", "9", "--headless", "--json", str(out))
    assert result.returncode == 1
    data = load(str(out))
    assert data["status"] == "failed"
    assert data["tasks"]["failed"] == 3 and data["tasks"]["completed"] == 6
    assert "multiples of three" in data["tasks"]["first_error"]
    assert "Traceback" not in result.stderr


def test_unpicklable_result_fails_the_task_not_the_run(tmp_path):
    out = tmp_path / "o.json"
    result = cli("run", FIXTURE + ":returns_lock", "--executor", "process", "--workers", "2",
                 "--tasks", "3", "--headless", "--json", str(out))
    assert result.returncode == 1
    data = load(str(out))
    assert data["tasks"]["failed"] == 3
    assert "result cannot be pickled" in data["tasks"]["first_error"]


def test_worker_exit_is_a_broken_pool(tmp_path):
    out = tmp_path / "o.json"
    result = cli("run", FIXTURE + ":exit_worker", "--executor", "process", "--workers", "2",
                 "--tasks", "6", "--headless", "--json", str(out), timeout=60)
    assert result.returncode == 1
    data = load(str(out))
    assert data["status"] == "failed"
    assert "broken" in data["reason"].lower() or "terminated" in data["reason"].lower()
    assert "Traceback" not in result.stderr


def test_timeout_stops_a_stuck_run_and_keeps_the_measurements(tmp_path):
    out = tmp_path / "o.json"
    result = cli("run", FIXTURE + ":sleepy", "--executor", "process", "--workers", "2", "--tasks", "4",
                 "--timeout", "1.5", "--headless", "--json", str(out))
    assert result.returncode == 1
    data = load(str(out))
    assert data["status"] == "timeout"
    assert data["tasks"]["submitted"] == 4
    assert len(data["timeline"]) >= 5


def test_worker_segfault_is_a_broken_pool_with_the_signal(tmp_path):
    out = tmp_path / "o.json"
    result = cli("run", FIXTURE + ":segfault", "--executor", "process", "--workers", "2",
                 "--tasks", "6", "--headless", "--json", str(out), timeout=60)
    assert result.returncode == 1
    data = load(str(out))
    assert data["status"] == "failed"
    assert any(e["exitcode"] == -signal.SIGSEGV for e in data["worker_exits"]), data["worker_exits"]
    assert "Traceback" not in result.stderr


def test_unpicklable_argument_fails_each_task_with_the_reason(tmp_path):
    out = tmp_path / "o.json"
    result = cli("run", OBJECTS + ":UNPICKLABLE_ARG", "--executor", "process", "--workers", "2",
                 "--tasks", "4", "--headless", "--json", str(out))
    assert result.returncode == 1
    data = load(str(out))
    assert data["tasks"]["failed"] == 4
    assert "pickle" in data["tasks"]["first_error"].lower() and "lock" in data["tasks"]["first_error"]
    # the same workload is fine where nothing is pickled
    ok = cli("run", OBJECTS + ":UNPICKLABLE_ARG", "--executor", "thread", "--workers", "2",
             "--tasks", "4", "--headless")
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_output_flood_is_drained_and_kept_bounded(tmp_path):
    out = tmp_path / "o.json"
    result = cli("run", FIXTURE + ":flood", "--executor", "process", "--workers", "2", "--tasks", "8",
                 "--param", "kib=256", "--headless", "--json", str(out), timeout=120)
    assert result.returncode == 0, result.stderr
    data = load(str(out))
    assert data["status"] == "completed"
    assert data["output"]["bytes"] >= 8 * 2 * 256 * 1024  # every byte was read...
    assert len(data["output"]["tail"]) <= 20  # ...and only a tail was kept
    assert len(result.stdout) < 64 * 1024  # nothing of it was dumped on the user's terminal


def test_grandchildren_left_by_tasks_are_killed():
    session, out = run_session(FIXTURE + ":orphan_grandchild", executor="process", start_method="fork",
                               workers=2, tasks=3)
    assert out["status"] == "completed"
    # the autouse fixture fails the test if any detached sleep survived


def test_grandchildren_of_a_stopped_run_are_killed():
    session = start_session(FIXTURE + ":orphan_grandchild", executor="thread", workers=2, duration=30)
    try:
        wait_for(session, lambda snap: snap.counts.completed >= 3)
        session.stop()
    finally:
        session.close()
    assert session.snapshot().status == "interrupted"
