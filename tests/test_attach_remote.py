"""``execscope attach PID`` with the agent loaded by ``sys.remote_exec`` (CPython 3.14+).

The target is tests/programs/feeder_pools.py, unmodified: a thread pool whose
tasks each submit a CPU-bound piece to a process pool.  After execscope has
gone, a second ``sys.remote_exec`` (``PROBE``) asks the target what it holds
now: the executor classes' own methods, multiprocessing's own pickler, no
execscope thread or marker.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from execscope.remote import eligible
from execscope.sampling.pyspy import find_pyspy
from helpers import ROOT, load
from pythons import python_or_skip
from test_gil_calibration import _run_as_nobody, as_root_with_setpriv

PROGRAM = os.path.join(ROOT, "tests", "programs", "feeder_pools.py")
needs_pyspy = pytest.mark.skipif(find_pyspy()[0] is None, reason="py-spy is not installed")

PROBE = r'''
import concurrent.futures as cf, json, threading, sys
from concurrent.futures import process, thread
from multiprocessing import connection, queues, reduction
out = {
    "submit": [cf.ThreadPoolExecutor.submit.__module__, cf.ProcessPoolExecutor.submit.__module__,
               cf.ProcessPoolExecutor.map.__module__, cf.ThreadPoolExecutor.__init__.__module__],
    "pickler": queues._ForkingPickler is reduction.ForkingPickler and connection._ForkingPickler is reduction.ForkingPickler,
    "threads": sorted(t.name for t in threading.enumerate()),
    "marker": hasattr(cf, "_execscope_attached") or "_execscope_attach_originals" in thread.ThreadPoolExecutor.__dict__,
}
with open(%r, "w") as fh:
    json.dump(out, fh)
'''


def _cli(*args, timeout=90.0, **kwargs):
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return subprocess.Popen([sys.executable, "-m", "execscope", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def _target(python, seconds, tmp_path, env=None, args=()):
    out = str(tmp_path / "result.txt")
    proc = subprocess.Popen([python, *args, PROGRAM, str(seconds), out], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=str(tmp_path))
    assert proc.stdout.readline().strip() == "ready"
    return proc, out


def _finish(proc):
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        _kill_tree(proc)
    return out, err


def _kill_tree(proc):
    """A target that did not end by itself (a failed test): it and its pool's processes."""
    if proc.poll() is not None:
        return
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        children = []
    for child in children:
        try:
            child.kill()
        except psutil.Error:
            pass
    proc.kill()
    proc.wait()


def _probe(python, pid, tmp_path):
    """What the target holds now (see PROBE), asked with sys.remote_exec."""
    result = str(tmp_path / "probe.json")
    script = tmp_path / "probe.py"
    script.write_text(PROBE % result)
    subprocess.run([python, "-I", "-c", "import sys; sys.remote_exec(%d, %r)" % (pid, str(script))], check=True,
                   timeout=30)
    deadline = time.monotonic() + 10
    while not os.path.exists(result) and time.monotonic() < deadline:
        time.sleep(0.05)
    with open(result) as fh:
        return json.load(fh)


def _assert_left_as_it_was(probe):
    assert probe["submit"] == ["concurrent.futures.thread", "concurrent.futures.process",
                               "concurrent.futures.process", "concurrent.futures.thread"], probe
    assert probe["pickler"] is True and probe["marker"] is False, probe
    assert not [t for t in probe["threads"] if t.startswith("execscope")], probe


def _expected(n_results):
    """The checksum feeder_pools.py prints for its first ``n_results`` results."""
    def crunch(n):
        return sum(i * i % 7 for i in range(n))
    values = {k: crunch(20000 + k) for k in range(50)}
    total, i = 0, 0
    while i < n_results:
        total += sum(values[(i + k) % 50] for k in range(10))
        i += 10
    return total


def _check_instrumented(data):
    assert data["source"] == "attach"
    assert data["program"]["instrumented"] is True, data["program"]
    assert data["program"]["mode"].startswith("instrumented since "), data["program"]
    kinds = {e["kind"]: e for e in data["executors"]}
    assert set(kinds) == {"thread", "process"}, list(kinds)
    for entry in kinds.values():
        assert entry["tasks"]["completed"] > 20, entry["tasks"]
    process = kinds["process"]
    assert process["breakdown_s"]["compute"] > 0 and process["ipc"]["bytes_sent"] > 0, process
    assert kinds["thread"]["breakdown_s"]["compute"] > 0


@needs_pyspy
@pytest.mark.parametrize("version", ["3.14", "3.15"])
def test_attach_instruments_a_running_thread_and_process_pool(version, tmp_path):
    python = python_or_skip(version)
    proc, out = _target(python, 6, tmp_path)
    try:
        cli = _cli("attach", str(proc.pid), "--headless", "--duration", "3", "--json", str(tmp_path / "a.json"))
        _, err = cli.communicate(timeout=90)
        assert cli.returncode == 0, err
        probe = _probe(python, proc.pid, tmp_path)  # execscope has gone; the program still runs
        stdout, stderr = _finish(proc)
    finally:
        _kill_tree(proc)
    assert proc.returncode == 0 and stderr == "", stderr
    count, checksum = map(int, open(out).read().split())
    assert stdout.split() == ["done", str(count), str(checksum)] and checksum == _expected(count)
    _assert_left_as_it_was(probe)
    data = load(str(tmp_path / "a.json"))
    _check_instrumented(data)
    # queue depth over time, and tasks completing within a couple of seconds of attaching
    assert max(p["queue_depth"] for p in data["timeline"]) > 0
    assert min(p["t_s"] for p in data["timeline"] if p["completed"] > 0) < 3.0


@needs_pyspy
@pytest.mark.parametrize("how", ["SIGKILL", pytest.param("SIGTERM", marks=pytest.mark.slow),
                                 pytest.param("SIGINT", marks=pytest.mark.slow)])
def test_the_agent_detaches_when_execscope_ends(how, tmp_path):
    python = python_or_skip("3.14")
    proc, out = _target(python, 6, tmp_path)
    try:
        cli = _cli("attach", str(proc.pid), "--headless")
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline and "running" not in line:
            line = cli.stderr.readline()
        time.sleep(1.0)
        # SIGKILL: no goodbye, the agent must see its socket close; SIGTERM and
        # SIGINT (Ctrl-C): execscope ends the run and closes the socket itself
        cli.send_signal(getattr(signal, how))
        cli.communicate(timeout=30)
        time.sleep(0.5)
        probe = _probe(python, proc.pid, tmp_path)
        stdout, stderr = _finish(proc)
    finally:
        _kill_tree(proc)
    _assert_left_as_it_was(probe)
    assert proc.returncode == 0 and stderr == "", stderr
    count, checksum = map(int, open(out).read().split())
    assert checksum == _expected(count)


@needs_pyspy
def test_attaching_twice_and_to_the_end_of_the_program(tmp_path):
    """A second attach after the first detached; it watches the program to its
    exit: the executors stay in the record and the program is "exited"."""
    python = python_or_skip("3.14")
    proc, out = _target(python, 6, tmp_path)
    try:
        first = _cli("attach", str(proc.pid), "--headless", "--duration", "1.5")
        assert first.wait(timeout=60) == 0, first.communicate()[1]
        first.communicate()
        second = _cli("attach", str(proc.pid), "--headless", "--json", str(tmp_path / "b.json"))
        _, err = second.communicate(timeout=90)
        assert second.returncode == 0, err
        stdout, stderr = _finish(proc)
    finally:
        _kill_tree(proc)
    assert proc.returncode == 0 and stderr == "" and stdout.startswith("done "), stderr
    count, checksum = map(int, open(out).read().split())
    assert checksum == _expected(count)
    data = load(str(tmp_path / "b.json"))
    _check_instrumented(data)
    assert data["status"] == "completed" and data["program"]["exited"] is True, data["program"]
    assert "exited (its exit code goes to its parent)" in err and "executors  2 seen" in err, err


@needs_pyspy
@pytest.mark.parametrize("how", ["env", pytest.param("option", marks=pytest.mark.slow)])
def test_remote_debugging_disabled_falls_back_with_the_reason(how, tmp_path):
    python = python_or_skip("3.14")
    env = dict(os.environ, PYTHON_DISABLE_REMOTE_DEBUG="1") if how == "env" else None
    args = ("-X", "disable_remote_debug") if how == "option" else ()
    proc, _ = _target(python, 4, tmp_path, env=env, args=args)
    try:
        cli = _cli("attach", str(proc.pid), "--headless", "--duration", "1.5", "--json", str(tmp_path / "c.json"))
        _, err = cli.communicate(timeout=60)
        assert cli.returncode == 0, err
    finally:
        _finish(proc)  # to its end: killing it would leave its pool's processes
    data = load(str(tmp_path / "c.json"))
    assert data["program"]["mode"].startswith("stacks only: remote debugging is disabled"), data["program"]
    assert data["program"]["instrumented"] is False


@needs_pyspy
def test_a_python_older_than_3_14_falls_back_with_the_reason(tmp_path):
    python = _older_python()
    if python is None:
        pytest.skip("no CPython 3.11-3.13 that runs on PATH")
    proc, _ = _target(python, 4, tmp_path)
    try:
        cli = _cli("attach", str(proc.pid), "--headless", "--duration", "1.5", "--json", str(tmp_path / "d.json"))
        _, err = cli.communicate(timeout=60)
        assert cli.returncode == 0, err
    finally:
        _finish(proc)
    data = load(str(tmp_path / "d.json"))
    assert "stacks only: the target runs Python 3.1" in data["program"]["mode"], data["program"]
    assert "needs CPython 3.14+" in data["program"]["mode"] and "stacks only" in err


def _older_python():
    """A CPython 3.11-3.13 that really runs (a pyenv shim may name one it cannot start)."""
    for name in ("python3.13", "python3.12", "python3.11"):
        path = shutil.which(name)
        if path is None:
            continue
        try:
            done = subprocess.run([path, "-c", "import sys; print(sys.version_info < (3, 14))"], capture_output=True,
                                  text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip() == "True":
            return path
    return None


def test_eligibility_reasons():
    info = {"version": [3, 14, 0], "implementation": "cpython", "gil_enabled": True}
    assert eligible(info, {}, ["python3.14", "prog.py"]) == ""
    assert "3.13" in eligible(dict(info, version=[3, 13, 5]), {}, ["python3"])
    assert "free-threaded" in eligible(dict(info, free_threaded_build=True, gil_enabled=False), {}, ["python3"])
    assert "PYTHON_DISABLE_REMOTE_DEBUG" in eligible(info, {"PYTHON_DISABLE_REMOTE_DEBUG": "1"}, ["python3"])
    assert "-X disable_remote_debug" in eligible(info, {}, ["python3", "-X", "disable_remote_debug", "p.py"])
    assert eligible(info, {}, ["python3", "p.py", "-X", "disable_remote_debug"]) == ""  # the program's own args


def _python_for_nobody(python, tmp):
    """The cached interpreter, copied where user nobody can run it: its loader
    and libraries are named by absolute paths inside the cache (pythons.py),
    which sits in root's home, so the copy is pointed at its own."""
    from execscope.interpreters import pythons_cache
    from execscope.pythons import LIBDIR, find_patchelf

    debian = os.path.dirname(os.path.dirname(os.path.dirname(python)))  # .../debian
    copy = os.path.join(tmp, "debian")
    _linked_tree(debian, copy)
    binary = os.path.join(copy, os.path.relpath(python, debian))
    os.unlink(binary)  # a hard link: patch a copy of its own, never the cache's
    shutil.copy2(python, binary)
    libdir = os.path.join(copy, LIBDIR)
    subprocess.run([find_patchelf(pythons_cache()), "--set-interpreter", os.path.join(libdir, "ld-linux-x86-64.so.2"),
                    "--force-rpath", "--set-rpath", libdir, binary], check=True, timeout=60)
    return binary


def _linked_tree(src, dst):
    """A copy of ``src`` another user can read: hard links where possible (fast), else copies."""
    def link(a, b):
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)
    shutil.copytree(src, dst, symlinks=True, copy_function=link)
    for base, dirs, _ in os.walk(dst):
        for entry in dirs:
            os.chmod(os.path.join(base, entry), 0o755)


@needs_pyspy
@as_root_with_setpriv
def test_an_ordinary_user_instruments_its_own_process_and_is_refused_anothers(tmp_path):
    python = python_or_skip("3.14")
    tmp = tempfile.mkdtemp(prefix="execscope-nobody-")
    pytmp = tempfile.mkdtemp(prefix="execscope-nobody-python-")  # apart: _run_as_nobody chmods all of tmp
    theirs = None
    mine = None
    try:
        os.chmod(tmp, 0o777)
        os.chmod(pytmp, 0o755)
        their_python = _python_for_nobody(python, pytmp)
        shutil.copy(PROGRAM, os.path.join(pytmp, "feeder_pools.py"))
        os.chmod(os.path.join(pytmp, "feeder_pools.py"), 0o644)
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "EXECSCOPE_TEST_MARK": os.environ.get("EXECSCOPE_TEST_MARK", "")}
        theirs = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", their_python,
                                   os.path.join(pytmp, "feeder_pools.py"), "8"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, cwd=tmp, env=env)
        assert theirs.stdout.readline().strip() == "ready"
        mine = subprocess.Popen([python, PROGRAM, "8"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert mine.stdout.readline().strip() == "ready"
        own = _run_as_nobody(tmp, ["attach", str(theirs.pid), "--headless", "--duration", "2.5",
                                   "--json", os.path.join(tmp, "own.json")])
        assert own.returncode == 0, own.stdout + own.stderr
        with open(os.path.join(tmp, "own.json")) as fh:
            data = json.load(fh)
        _check_instrumented(data)
        other_tmp = os.path.join(tmp, "other")
        os.mkdir(other_tmp, 0o777)
        os.chmod(other_tmp, 0o777)
        other = _run_as_nobody(other_tmp, ["attach", str(mine.pid), "--headless", "--duration", "1"])
        lines = other.stderr.strip().splitlines()
        assert other.returncode == 2 and len(lines) == 1, other.stderr
        assert "not permitted" in lines[0] and "belongs to root" in lines[0], lines
        for proc in (theirs, mine):
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0 and err == "", err
    finally:
        for proc in (theirs, mine):
            if proc is not None:
                _kill_tree(proc)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(pytmp, ignore_errors=True)


@needs_pyspy
def test_a_target_blocked_in_c_falls_back_and_later_runs_the_script_silently(tmp_path):
    """The only thread sleeps in C: no safe point within the wait, so attach
    reads stacks only.  When the target wakes, after execscope has gone, it
    runs the boot script it was given: that must print nothing and remove
    itself."""
    python = python_or_skip("3.14")
    before = {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("execscope-boot-")}
    proc = subprocess.Popen([python, "-c", "import time; print('ready', flush=True); time.sleep(7); print('woke')"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        cli = _cli("attach", str(proc.pid), "--headless", "--duration", "5.5", "--json", str(tmp_path / "e.json"))
        _, err = cli.communicate(timeout=60)
        assert cli.returncode == 0, err
        stdout, stderr = _finish(proc)
    finally:
        _kill_tree(proc)
    assert stdout.strip() == "woke" and stderr == "", stderr
    data = load(str(tmp_path / "e.json"))
    assert data["program"]["mode"].startswith("stacks only: the target reached no safe point"), data["program"]
    left = {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("execscope-boot-")} - before
    assert not left, left
