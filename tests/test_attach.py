"""``execscope attach PID``: a running process watched from outside.

Stack classification is tested on py-spy dumps recorded from CPython 3.9,
3.11 and 3.13 (tests/fixtures/pyspy: a thread pool with running, sleeping and
blocked workers, asyncio's idle default executor, a spawn process pool with a
running and an idle worker).  The live tests attach to small programs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from execscope.attach import StackStates, classify, pool_name, starvation_from_stacks
from execscope.sampling.pyspy import dump_failure, find_pyspy
from execscope.model import RunConfig, Snapshot, WorkerView
from helpers import ROOT, cli, load

FIXTURES = os.path.join(ROOT, "tests", "fixtures", "pyspy")
PROGRAMS = os.path.join(ROOT, "tests", "programs")
VERSIONS = ("3.9", "3.11", "3.13")
needs_pyspy = pytest.mark.skipif(find_pyspy()[0] is None, reason="py-spy is not installed")


def recorded(version: str) -> dict:
    with open(os.path.join(FIXTURES, "pools-%s.json" % version)) as fh:
        return json.load(fh)


@pytest.mark.parametrize("version", VERSIONS)
def test_worker_states_from_recorded_stacks(version):
    dumps = recorded(version)
    states = {t["thread_name"]: classify(t["frames"]) for t in dumps["parent"]}
    assert states["calc_0"][:2] == ("thread", "running") and states["calc_0"][2].startswith("spin")
    assert states["calc_1"][:2] == ("thread", "blocked")  # in Future.result on its own pool
    assert states["calc_2"][:2] == states["calc_3"][:2] == ("thread", "running")  # in time.sleep: still a task
    assert states["asyncio_0"] == ("thread", "idle", "")  # in its work queue's get (a C call)
    for other in ("MainThread", "QueueFeederThread", "Thread-1"):
        assert states[other] is None  # not executor workers
    children = [classify(v[0]["frames"]) for k, v in dumps.items() if k != "parent"]
    assert sorted(c[:2] for c in children if c) == [("process", "idle"), ("process", "running")]
    assert children.count(None) == 1  # multiprocessing's resource tracker


@pytest.mark.parametrize("version", VERSIONS)
def test_pools_are_grouped_by_thread_name_and_by_parent_process(version):
    dumps = recorded(version)
    by_pid = {100: dumps["parent"]}
    by_pid.update({101 + i: v for i, (k, v) in enumerate(sorted(dumps.items())) if k != "parent"})
    tick = StackStates(parent_of=lambda pid: 100).tick(by_pid, now=10.0)
    pools = {e["created_at"]: e for e in tick["executors"]}
    assert set(pools) == {"thread pool 'calc'", "thread pool 'asyncio'", "process pool of pid 100"}
    assert (pools["thread pool 'calc'"]["running"], pools["thread pool 'calc'"]["blocked"]) == (3, 1)
    assert pools["thread pool 'calc'"]["max_workers"] == 4
    assert pools["process pool of pid 100"]["running"] == 1 and pools["process pool of pid 100"]["max_workers"] == 2
    assert tick["running"] == 4 and tick["blocked"] == 1 and len(tick["workers"]) == 7


def test_a_state_keeps_its_start_across_dumps():
    dumps = {100: recorded("3.11")["parent"]}
    states = StackStates(parent_of=lambda pid: None)
    states.tick(dumps, now=1.0)
    tick = states.tick(dumps, now=2.5)
    assert {row[6] for row in tick["workers"]} == {1.0}  # since: the first dump that saw it


def test_pool_names():
    assert pool_name("ThreadPoolExecutor-12_0", 1) == "ThreadPoolExecutor-12"
    assert pool_name("spin_3", 1) == "spin"
    assert pool_name("worker", 1) == "worker"


def _blocked(n: int, age: float) -> WorkerView:
    return WorkerView(key="t:%d" % n, label="w%d" % n, kind="thread", pid=1, tid=n, state="blocked", task=-1,
                      state_age_s=age, done=0, busy_s=0.0)


@pytest.mark.parametrize("age,raised", [(0.5, False), (1.5, True)])
def test_starvation_from_stacks_needs_every_worker_blocked_for_a_while(age, raised):
    config = RunConfig(workload="attach", executor="thread", attach_pid=1)
    snap = Snapshot(config=config, t_s=10.0, status="running", workers=(_blocked(1, age), _blocked(2, age + 1)))
    finding = starvation_from_stacks([snap])
    assert (finding is not None) == raised
    if raised:
        assert finding.kind == "starvation" and finding.severity == "critical"
        assert finding.evidence["source"] == "stacks" and "not visible from outside" in finding.message
    running = WorkerView(key="t:9", label="w9", kind="thread", pid=1, tid=9, state="running", task=-1,
                         state_age_s=5.0, done=0, busy_s=0.0)
    assert starvation_from_stacks([Snapshot(config=config, t_s=10.0, workers=(_blocked(1, 5.0), running))]) is None


@pytest.mark.parametrize("text,needle", [
    ("Error: Permission denied (os error 13)", "ptrace"),
    ("Error: Operation not permitted (os error 1)", "CAP_SYS_PTRACE"),
    ("Error: Failed to find python version from target process", "not a Python process"),
    ("Error: No such process (os error 3)", "gone"),
])
def test_py_spy_failures_become_one_clear_reason(text, needle):
    assert needle in dump_failure(text, 42)


def _start(program: str, *args: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, os.path.join(PROGRAMS, program), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    assert line.strip() in ("ready", "submitted 4"), line
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=10)
    proc.stdout.close()


@needs_pyspy
def test_attach_shows_the_worker_threads_of_a_running_pool(tmp_path):
    proc = _start("spin_pool.py", "3")
    try:
        out = tmp_path / "attach.json"
        result = cli("attach", str(proc.pid), "--headless", "--duration", "3", "--json", str(out), timeout=60)
        assert result.returncode == 0, result.stderr
        assert proc.poll() is None  # watching never touches the process
    finally:
        _stop(proc)
    data = load(str(out))
    assert data["source"] == "attach" and data["status"] == "completed"
    (pool,) = data["executors"]
    assert pool["created_at"] == "thread pool 'spin'" and pool["max_workers"] == 3
    workers = [w for w in data["workers"] if w["label"].startswith("spin_")]
    assert len(workers) == 3 and all(w["tid"] for w in workers)
    assert {u["panel"] for u in data["unavailable"]} >= {"queue", "tasks", "breakdown", "ipc"}
    # Ground truth for three pure-Python spinners and an idle main thread: the
    # GIL is always held by one of the three, so their held shares add up to
    # about 1 and each waits about 2/3 of the time.  A sampler that reports
    # nothing, or calls every wait "released", fails here.
    assert data["gil"]["source"] == "py-spy", data["gil"]
    shares = [(w["gil_held"], w["gil_wait"]) for w in workers]
    assert all(h is not None and w is not None for h, w in shares), shares
    assert 0.6 <= sum(h for h, _ in shares) <= 1.05, shares  # one GIL, always held by a spinner
    assert all(0.05 <= h <= 0.7 for h, _ in shares), shares  # they take turns
    assert all(w >= 0.35 for _, w in shares), shares  # truly ~0.67: waits are seen
    # Of the time a spinner does not hold the GIL it wants it (measured 0.9-1.0
    # of the not-held share): a sampler that lost half the waits (called them
    # released) gives about 0.5 and fails, though each wait may still pass 0.35.
    assert sum(w for _, w in shares) / sum(1.0 - h for h, _ in shares) >= 0.7, shares
    (main,) = [t for t in data["gil"]["threads"] if t["name"] == "MainThread"]
    assert main["held"] <= 0.1 and main["wait"] <= 0.1, main  # blocked on an Event, not on the GIL
    assert "queue depth" in result.stderr  # the summary says what attach cannot show


@needs_pyspy
def test_attach_finds_a_deadlocked_pool_from_stacks_alone(tmp_path):
    proc = _start("recursive_submit.py", "2")
    try:
        time.sleep(0.3)
        out = tmp_path / "attach.json"
        result = cli("attach", str(proc.pid), "--headless", "--duration", "3", "--json", str(out), timeout=60)
        assert result.returncode == 0, result.stderr
    finally:
        _stop(proc)
    data = load(str(out))
    alerts = [a for a in data["alerts"] if a["kind"] == "starvation"]
    assert alerts and alerts[0]["severity"] == "critical" and alerts[0]["evidence"]["source"] == "stacks"
    (pool,) = data["executors"]
    assert pool["kind"] == "thread" and pool["max_workers"] == 2


@pytest.mark.parametrize("target,needle", [("no-such-pid", "no such process"), ("not-python", "not a Python")])
@needs_pyspy
def test_attach_to_what_cannot_be_watched_is_one_clear_line(target, needle):
    proc = None
    if target == "no-such-pid":
        pid = 4_000_000
    else:
        proc = subprocess.Popen(["sleep", "30"])
        pid = proc.pid
    try:
        result = cli("attach", str(pid), "--headless", "--duration", "1", timeout=60)
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr


def test_a_refused_process_gets_the_real_reason(monkeypatch):
    """Only someone else's process is "another user's"; root refused by the
    kernel (init in a container) is told that instead."""
    from execscope.attach import _denied_why

    mine = os.getpid()
    assert "kernel will not show" in _denied_why(mine)  # same owner: not an ownership problem
    monkeypatch.setattr(os, "geteuid", lambda: os.getuid() + 12345)
    assert "belongs to" in _denied_why(mine)


def test_attach_uses_the_py_spy_named_by_execscope_pyspy(tmp_path):
    """The same py-spy as the GIL sampler: an EXECSCOPE_PYSPY that is not there is
    said so (attach used to look beside the interpreter and on PATH only)."""
    proc = _start("spin_pool.py", "1")
    try:
        missing = str(tmp_path / "no-py-spy")
        result = cli("attach", str(proc.pid), "--headless", "--duration", "1", env={"EXECSCOPE_PYSPY": missing},
                     timeout=60)
    finally:
        _stop(proc)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "EXECSCOPE_PYSPY=%s" % missing in lines[0], result.stderr


def _frames(*files):
    return [{"name": "f", "filename": f, "short_filename": f, "line": 1} for f in files]


def _pool_dumps():
    """A program (100) whose fork server (101) forked two process workers (102, 103)."""
    worker = [{"os_thread_id": 1, "thread_name": "MainThread",
               "frames": [{"name": "_process_worker", "short_filename": "concurrent/futures/process.py", "line": 1}]}]
    program = [{"os_thread_id": 9, "thread_name": "manager",
                "frames": _frames("threading.py", "concurrent/futures/process.py")}]
    server = [{"os_thread_id": 5, "thread_name": "MainThread", "frames": _frames("multiprocessing/forkserver.py")}]
    return {100: program, 101: server, 102: worker, 103: worker}


def test_process_workers_forked_by_a_fork_server_belong_to_the_pools_process():
    parents = {101: 100, 102: 101, 103: 101}
    tick = StackStates(parent_of=parents.get, cpu_time_of=lambda pid: 0.0).tick(_pool_dumps(), now=1.0)
    (pool,) = tick["executors"]
    assert pool["id"] == "100:processes" and pool["max_workers"] == 2


def test_a_pool_gone_from_the_stacks_stays_retired():
    parents = {101: 100, 102: 101, 103: 101}
    states = StackStates(parent_of=parents.get, cpu_time_of=lambda pid: 0.0)
    states.tick(_pool_dumps(), now=1.0)
    tick = states.tick({100: _pool_dumps()[100][:0]}, now=1.5)  # the program, its pools gone
    assert [e["id"] for e in tick["executors"]] == ["100:processes"]
    assert set(states.retired) == {"100:processes"} and tick["running"] == 0


def test_cpu_while_running_is_told_from_the_share_of_dumps_that_saw_it_running():
    """A worker running 10% of the time (1 dump in 10) and using 0.1 s of CPU a
    second runs at a full core while it runs: not the 0% of a stale state."""
    cpu = {"t": 0.0}
    states = StackStates(parent_of=lambda pid: None, cpu_time_of=lambda pid: cpu["t"])
    idle = [{"os_thread_id": 1, "frames": [{"name": "_process_worker", "short_filename": "concurrent/futures/process.py"}]}]
    running = [{"os_thread_id": 1, "frames": [{"name": "crunch", "short_filename": "prog.py"},
                                              {"name": "_process_worker", "short_filename": "concurrent/futures/process.py"}]}]
    for k in range(40):
        cpu["t"] = 0.05 * k  # 0.5 s apart: 0.05 s of CPU each, 10% of a core
        states.tick({7: running if k % 10 == 5 else idle}, now=0.5 * k)
    assert states.busy_cpu(7) == pytest.approx(100.0, abs=10)
    fresh = StackStates(parent_of=lambda pid: None, cpu_time_of=lambda pid: 0.0)
    fresh.tick({7: running}, now=0.0)
    assert fresh.busy_cpu(7) is None  # too few dumps to say


def _attach_to_feeder(tmp_path, seconds, extra, timeout, exit_timeout, work=None):
    """Stacks-only attach to feeder_pools.py running SECONDS (tasks of WORK
    loop iterations), until it exits: (its pid, execscope's completed
    process, the run JSON)."""
    env = dict(os.environ, FEEDER_WORK=str(work)) if work else None
    proc = subprocess.Popen([sys.executable, os.path.join(PROGRAMS, "feeder_pools.py"), str(seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "ready"
        out = tmp_path / "attach.json"
        result = cli("attach", str(proc.pid), "--headless", "--stacks-only", *extra, "--json", str(out),
                     timeout=timeout)
        assert result.returncode == 0, result.stderr
        proc.communicate(timeout=exit_timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    return proc.pid, result, load(str(out))


@needs_pyspy
def test_attached_to_its_end_a_process_keeps_its_pools_and_is_said_to_have_exited(tmp_path):
    """From outside (this interpreter is older than 3.14, or --stacks-only): the
    pools stay in the record once the process has exited, the process pool is
    the program's (not its fork server's), and the program is not "running"."""
    pid, result, data = _attach_to_feeder(tmp_path, 3, (), timeout=60, exit_timeout=30)
    assert data["status"] == "completed" and data["reason"] == "the process exited"
    assert data["program"]["exited"] is True and data["program"]["exit_code"] is None
    assert data["program"]["mode"] == "stacks only: asked for with --stacks-only"
    pools = {e["kind"]: e for e in data["executors"]}
    assert set(pools) == {"thread", "process"}, data["executors"]
    assert pools["process"]["id"] == "%d:processes" % pid
    assert "exited (its exit code goes to its parent)" in result.stderr and "running" not in \
        [l for l in result.stderr.splitlines() if l.strip().startswith("program")][0]


@pytest.mark.slow
@needs_pyspy
def test_busy_process_workers_are_not_called_idle_or_io_bound(tmp_path):
    """Short CPU-bound tasks in a process pool (feeder_pools.py, ~10 ms
    each): their workers use a full core while they run.  Read from the stale
    stack state over each tick, that was ~0% and the pool came out
    "io-bound".  (With the program's default 1 ms tasks a worker runs ~5% of
    the time: two dumps a second catch it running too rarely in 14 s for a
    figure, and attach rightly gives none.)"""
    _, _, data = _attach_to_feeder(tmp_path, 16, ("--duration", "14"), timeout=90, exit_timeout=60,
                                   work=200000)
    (pool,) = [e for e in data["executors"] if e["kind"] == "process"]
    assert pool["cpu_per_running_worker"] is not None and pool["cpu_per_running_worker"] >= 0.4, pool
    assert pool["bound"] in ("cpu-bound", "mixed"), pool


def _stop_tree(proc: subprocess.Popen) -> None:
    import psutil

    children = psutil.Process(proc.pid).children(recursive=True)
    _stop(proc)
    for child in children:
        child.kill()
    psutil.wait_procs(children, timeout=10)


@needs_pyspy
def test_attach_shows_each_worker_process_of_a_live_process_pool(tmp_path):
    import psutil

    proc = _start("spin_pool.py", "2", "process")
    try:
        workers = sorted(c.pid for c in psutil.Process(proc.pid).children() if "resource_tracker" not in
                         " ".join(c.cmdline()))
        out = tmp_path / "attach.json"
        result = cli("attach", str(proc.pid), "--headless", "--duration", "3", "--json", str(out), timeout=60)
        assert result.returncode == 0, result.stderr
        assert proc.poll() is None
    finally:
        _stop_tree(proc)
    data = load(str(out))
    (pool,) = data["executors"]
    assert pool["created_at"] == "process pool of pid %d" % proc.pid and pool["kind"] == "process"
    assert pool["max_workers"] == 2
    rows = {w["pid"]: w for w in data["workers"]}
    assert sorted(rows) == workers and all(w["kind"] == "process" for w in rows.values()), data["workers"]
    assert "2 running" in result.stderr  # both spin in their task
    # Ground truth: each worker spins pure Python under its own GIL, which
    # nobody else wants; the parent only waits on an Event.
    assert all(w["gil_held"] >= 0.7 and w["gil_wait"] <= 0.2 for w in rows.values()), data["workers"]
    (parent,) = [t for t in data["gil"]["threads"] if t["pid"] == proc.pid and t["name"] == "MainThread"]
    assert parent["held"] <= 0.1, parent


def test_a_worker_that_exits_between_a_dump_and_its_parent_lookup_stays_in_its_pool():
    """The last dump of a run can catch a worker whose process is gone by the
    time its parent is read: it must not become a pool of its own."""
    parents = {101: 100, 102: 101, 103: 101}
    states = StackStates(parent_of=lambda pid: parents.get(pid), cpu_time_of=lambda pid: 0.0)
    states.tick(_pool_dumps(), now=1.0)
    del parents[103]
    tick = states.tick(_pool_dumps(), now=1.5)
    assert [e["id"] for e in tick["executors"]] == ["100:processes"]
