"""The leftover-process check (conftest.py) on tests made to leak: it fails each
test that leaves a process running, however it was started, and never scans
around a test that starts none."""

from __future__ import annotations

import os
import time

import psutil

HERE = os.path.dirname(os.path.abspath(__file__))

INNER = '''
import multiprocessing
import os
import subprocess
import sys
import time

PIDS = os.environ["LEAK_PIDS"]


def note(pid):
    with open(PIDS, "a") as fh:
        fh.write("%d\\n" % pid)


def test_pure():
    assert sum(range(4)) == 6


def test_popen_leaks():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    note(proc.pid)


def test_popen_waited_for():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_spawn_context_leaks():
    # multiprocessing's spawn starts its process without an audit event
    proc = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,), daemon=True)
    proc.start()
    note(proc.pid)


def test_fork_leaks():
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    note(pid)


def test_only_spawning_tests_were_scanned():
    import conftest

    assert conftest.WATCH.scans == 4
'''


def test_a_leak_fails_its_test_and_pure_tests_are_not_scanned(pytester, tmp_path, monkeypatch):
    with open(os.path.join(HERE, "conftest.py")) as fh:
        source = fh.read()
    assert "settle_s: float = 3.0" in source
    pytester.makeconftest(source.replace("settle_s: float = 3.0", "settle_s: float = 0.5"))
    pytester.makepyfile(test_inner=INNER)
    pids_file = tmp_path / "pids"
    monkeypatch.setenv("LEAK_PIDS", str(pids_file))
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=120)
        leaked = [int(line) for line in pids_file.read_text().split()]
        assert len(leaked) == 3
        result.assert_outcomes(passed=6, errors=3)
        out = result.stdout.str()
        for name in ("test_popen_leaks", "test_spawn_context_leaks", "test_fork_leaks"):
            assert "ERROR at teardown of %s" % name in out
        for pid in leaked:
            assert "processes left behind: ['%d " % pid in out or "'%d " % pid in out, pid
    finally:
        _end(pids_file)


def _end(pids_file) -> None:
    """End the processes the inner tests leaked on purpose, by pid."""
    if not pids_file.exists():
        return
    procs = []
    for line in pids_file.read_text().split():
        try:
            proc = psutil.Process(int(line))
            proc.kill()
            procs.append(proc)
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE
                                              for p in procs):
        time.sleep(0.05)
