"""Per-core CPU from kernel counters: the pure difference, and a real reading."""

import subprocess
import sys
import time

import psutil
import pytest

from execscope.sampling.cpu import MIN_SPAN_S, CpuSampler, core_percents


def test_core_percents_are_busy_over_busy_plus_idle():
    before = [(10.0, 10.0), (5.0, 0.0)]
    after = [(10.5, 10.5), (5.1, 0.9)]
    assert core_percents(before, after) == [50.0, 10.0]


def test_too_short_a_span_tells_nothing():
    """Two readings a few milliseconds apart (a late tick, then a quick one)
    would show 0 % or 100 % from one clock tick: no answer instead."""
    before = [(10.0, 10.0)]
    assert core_percents(before, [(10.0 + MIN_SPAN_S / 2, 10.0)]) is None
    assert core_percents(before, [(10.0, 10.0)]) is None


def test_core_count_change_or_counters_going_back():
    assert core_percents([(1.0, 1.0)], [(2.0, 2.0), (1.0, 1.0)]) is None
    assert core_percents([(5.0, 5.0)], [(4.0, 6.0)]) == [0.0]


def _cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def test_a_spinning_child_shows_as_one_busy_core():
    """The tree's share against the child's own CPU time over the same span (on
    a loaded machine a spinning child gets less than a core: no fixed floor).
    It samples until the child has had a quarter of a CPU-second, so a busy
    machine makes the test longer, not wrong."""
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        proc = psutil.Process(child.pid)
        sampler = CpuSampler()
        sampler.attach(child.pid)
        time.sleep(0.3)
        sampler.sample()
        c0, t0 = _cpu_seconds(proc), time.monotonic()
        readings = []
        while len(readings) < 5 or (_cpu_seconds(proc) - c0 < 0.25 and len(readings) < 50):
            time.sleep(0.2)
            readings.append(sampler.sample())
        c1, t1 = _cpu_seconds(proc), time.monotonic()
    finally:
        child.kill()
        child.wait()
    if c1 - c0 < 0.05:
        pytest.skip("the spinning child got %.2f CPU-seconds in %.0f s: the machine is too busy to tell"
                    % (c1 - c0, t1 - t0))
    truth = (c1 - c0) / (t1 - t0) * 100.0
    shares = [r.tree_percent for r in readings]
    assert abs(sum(shares) / len(shares) - truth) <= 15.0, (shares, truth)
    # the machine's cores carry at least the child (it may move between them)
    assert all(sum(r.per_core) >= r.tree_percent - 15.0 for r in readings), \
        [(r.per_core, r.tree_percent) for r in readings]


def test_a_child_gone_before_its_first_reading_is_skipped(monkeypatch):
    """The tree is listed, then read: a short-lived child may be gone in between."""
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    short = subprocess.Popen([sys.executable, "-c", "pass"])
    gone = psutil.Process(short.pid)
    short.wait()
    try:
        sampler = CpuSampler()
        sampler.attach(parent.pid)
        monkeypatch.setattr(psutil.Process, "children", lambda self, recursive=False: [gone])
        reading = sampler.sample()
    finally:
        parent.kill()
        parent.wait()
    assert reading.tree_pids == (parent.pid,)


def test_the_tree_is_searched_again_only_when_a_process_was_created(monkeypatch):
    """Searching the tree reads every process's stat file; with the kernel's
    last pid unchanged nothing new can be in the tree, so the search is kept,
    and a new child (a new last pid) is found at the next reading."""
    from execscope.sampling import cpu

    sampler = CpuSampler()
    sampler.attach(psutil.Process().pid)
    searches = []
    root = sampler.root
    real_children = root.children

    def children(recursive=False):
        searches.append(1)
        return real_children(recursive=recursive)

    root.children = children  # this sampler's searches only (the suite's leftover watch lists children too)
    monkeypatch.setattr(cpu, "last_pid", lambda: 1000)
    sampler.sample()
    sampler.sample()
    assert len(searches) == 1
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        monkeypatch.setattr(cpu, "last_pid", lambda: 1001)
        reading = sampler.sample()
        assert len(searches) == 2 and child.pid in reading.tree_pids
    finally:
        child.kill()
        child.wait()


def test_last_pid_reads_the_kernel():
    from execscope.sampling.cpu import last_pid

    before = last_pid()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    after = last_pid()
    assert before is not None and after is not None and after != before
