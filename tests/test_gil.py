"""GIL measurement, without processes: stack shapes, py-spy output, the arithmetic,
the probe's figures, permission advice.  Real runs are in test_gil_calibration.py."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from execscope.model import GilThread, GilView
from helpers import ROOT
from execscope.runner import gilprobe
from execscope.sampling import gil, gilstats, ptrace, pyspy, saturation
from execscope.sampling.pyspy import EXT, HELD, IDLE, RELEASED, WAIT, StackCounts

# Frames as py-spy 0.4.3 prints them (record --format raw --native --nolineno),
# outermost first, taken from runs of the built-in workloads on CPython 3.11.
THREAD_TOP = ("0x7f44c21278ec (libc.so.6);0x7f44c20a71f5 (libc.so.6);thread_run (libpython3.11.so.1.0);"
              "Thread._bootstrap (threading.py);Thread._bootstrap_inner (threading.py);Thread.run (threading.py);"
              "_worker (concurrent/futures/thread.py)")
TASK = THREAD_TOP + (";_WorkItem.run (concurrent/futures/thread.py);"
                     "Tracker._run_local (execscope/runner/instrument.py)")
CPU = TASK + ";cpu_task (workloads/cpu.py)"
RUNNER = ("0x7f74c764524a (libc.so.6);_run_module_as_main (<frozen runpy>);_run_code (<frozen runpy>);"
          "<module> (execscope/runner/__main__.py);main (execscope/runner/main.py);"
          "_execute (execscope/runner/main.py);_submit_for (execscope/runner/main.py)")

SHAPES = [
    # executing bytecode
    (CPU, HELD),
    # the hidden take_gil: timed wait, forced hand-over, the GIL mutex
    (CPU + ";pthread_cond_timedwait (libc.so.6);0x7f74c76a3f16 (libc.so.6)", WAIT),
    (CPU + ";pthread_cond_wait (libc.so.6);0x7f74c76a3f16 (libc.so.6)", WAIT),
    (CPU + ";pthread_mutex_lock (libc.so.6);0x7f74c76a412b (libc.so.6)", WAIT),
    (CPU + ";0x7f74c76abcae (libc.so.6);0x7f74c76a4193 (libc.so.6)", WAIT),
    # a single unnamed libc leaf under the eval loop: memcpy and friends
    (CPU + ";0x7f74c76a9999 (libc.so.6)", HELD),
    # 3.12+: thread-local state lookup while running
    (CPU + ";__tls_get_addr (ld-linux-x86-64.so.2)", HELD),
    # time.sleep: sleeping is released, waking up again waits for the GIL
    (RUNNER + ";time_sleep (libpython3.11.so.1.0);clock_nanosleep (libc.so.6)", RELEASED),
    (RUNNER + ";time_sleep (libpython3.11.so.1.0);pthread_cond_timedwait (libc.so.6);0x7f7 (libc.so.6)", WAIT),
    (RUNNER + ";time_sleep (libpython3.11.so.1.0);0x7f74c76abcae (libc.so.6);0x7f74c76a4193 (libc.so.6)", WAIT),
    # a lock wait (semaphore) is released, in shared and static builds
    (RUNNER + ";lock_PyThread_acquire_lock (libpython3.11.so.1.0);PyThread_acquire_lock_timed "
              "(libpython3.11.so.1.0);0x7f74c76aed90 (libc.so.6);0x7f74c76a3f16 (libc.so.6)", RELEASED),
    (RUNNER + ";PyThread_acquire_lock_timed (python3.11);0x7ff60dd2ed90 (libc.so.6);0x7ff60dd23f16 (libc.so.6)",
     RELEASED),
    # blocking I/O straight under Python (a static build hides the module's frame)
    (RUNNER + ";poll (libc.so.6)", RELEASED),
    # a pool worker waiting for its next task; once it has one, it waits for the GIL
    (THREAD_TOP + ";_queue_SimpleQueue_get (_queuemodule.c.h);_queue_SimpleQueue_get_impl (_queuemodule.c);"
                  "PyThread_acquire_lock_timed (libpython3.11.so.1.0);0x7f90 (libc.so.6);0x7f91 (libc.so.6)", IDLE),
    (THREAD_TOP + ";_queue_SimpleQueue_get (_queuemodule.c.h);_queue_SimpleQueue_get_impl (_queuemodule.c);"
                  "pthread_cond_timedwait (libc.so.6);0x7f74 (libc.so.6)", WAIT),
    (RUNNER + ";_process_worker (concurrent/futures/process.py);Queue.get (multiprocessing/queues.py);"
              "Connection.recv_bytes (multiprocessing/connection.py);os_read (libpython3.11.so.1.0);read (libc.so.6)",
     IDLE),
    # extension code: GIL unknown from the stack (hashlib and NumPy drop it, _pickle keeps it)
    (TASK + ";hash_task (workloads/hash.py);EVP_hash (_hashopenssl.c);SHA256_Update (libcrypto.so.3);"
            "0x7f7151e9c433 (libcrypto.so.3)", EXT),
    (TASK + ";numpy_task (workloads/numpy_work.py);dgemm_kernel_SKYLAKEX (libscipy_openblas64_-32a4b2a6.so)", EXT),
    (TASK + ";numpy_task (workloads/numpy_work.py);ufunc_generic_fastcall "
            "(numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so);memcpy (libc.so.6)", EXT),
    # ...and an extension taking the GIL back after its loop
    (TASK + ";numpy_task (workloads/numpy_work.py);ufunc_generic_fastcall "
            "(numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so);pthread_cond_timedwait (libc.so.6);"
            "0x7f90cbaa3f16 (libc.so.6)", WAIT),
    # interpreter C code that does not block holds the GIL
    (TASK + ";sre_ucs1_search (libpython3.11.so.1.0)", HELD),
    # no Python frame at all
    ("0x7f44c21278ec (libc.so.6);0x7f44c20a71f5 (libc.so.6)", RELEASED),
]


@pytest.mark.parametrize("stack,expected", SHAPES)
def test_stack_shapes(stack: str, expected: str) -> None:
    assert pyspy.classify(stack.split(";")) == expected


def test_python_frames_are_told_from_native_ones() -> None:
    assert pyspy.is_python_frame("cpu_task (workloads/cpu.py)")
    assert pyspy.is_python_frame("cpu_task (workloads/cpu.py:9)")
    assert pyspy.is_python_frame("<module> (<string>)")
    assert pyspy.is_python_frame("_run_code (<frozen runpy>)")
    assert not pyspy.is_python_frame("EVP_hash (_hashopenssl.c)")
    assert not pyspy.is_python_frame("_hashlib_openssl_sha256 (_hashopenssl.c.h:427)")
    assert not pyspy.is_python_frame("0x7f44 (libc.so.6)")


RAW = "\n".join([
    "thread (101): worker_0;" + CPU + " 30",
    "thread (101): worker_0;" + CPU + ";pthread_cond_timedwait (libc.so.6);0x7f (libc.so.6) 60",
    "thread (102): worker_1;" + THREAD_TOP + ";_queue_SimpleQueue_get (_queuemodule.c.h);"
    "PyThread_acquire_lock_timed (libpython3.11.so.1.0);0x1 (libc.so.6);0x2 (libc.so.6) 90",
    "thread (0x67);" + CPU + " 5",
    "Wrote raw flamegraph data",  # not a sample line
    "",
])


def test_parse_raw_sums_samples_per_thread_and_shape() -> None:
    threads = pyspy.parse_raw(RAW)
    assert set(threads) == {101, 102, 0x67}
    w0 = threads[101]
    assert (w0.name, w0.total, w0.held, w0.wait, w0.idle) == ("worker_0", 90, 30, 60, 0)
    assert threads[102].idle == 90
    assert threads[0x67].name == ""
    plain = pyspy.parse_raw(RAW, classify_stacks=False)
    assert plain[101].total == 90 and plain[101].wait == 0


@pytest.mark.parametrize("output,kind", [
    ("Permission Denied: Try running again with elevated permissions by going 'sudo env \"PATH=$PATH\" !!'",
     pyspy.PERMISSION),
    ("Error: Operation not permitted (os error 1)", pyspy.PERMISSION),
    ("Error: Failed to find a python interpreter in the .data section", pyspy.UNSUPPORTED),
    ("Error: Unsupported version of Python: 3.15.0", pyspy.UNSUPPORTED),
    ("Error: Failed to find python version from target process", pyspy.EARLY),
    ("Error: Failed to get process executable name. Check that the process is running.", pyspy.GONE),
    ("Error: something new", pyspy.ERROR),
])
def test_failures_are_recognised(output: str, kind: str) -> None:
    assert pyspy.failure_kind(output) == kind


def test_first_error_line() -> None:
    assert pyspy.first_error_line("py-spy> x\nError: Failed to find a python interpreter\n\nStack backtrace:") \
        == "Failed to find a python interpreter"
    assert pyspy.first_error_line("Permission Denied: Try running again") == "Permission denied"


def test_record_commands() -> None:
    stacks = pyspy.record_command("py-spy", 42, 25, "/tmp/o", "stacks")
    assert "--native" in stacks and "--idle" in stacks and "--nonblocking" not in stacks
    held = pyspy.record_command("py-spy", 42, 100, "/tmp/o", "gil")
    assert "--nonblocking" in held and "--gil" in held and "--native" not in held
    assert held[held.index("--pid") + 1] == "42" and held[held.index("--rate") + 1] == "100"


def test_find_pyspy_honours_the_override(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv(pyspy.PYSPY_ENV, str(tmp_path / "missing"))
    path, why = pyspy.find_pyspy()
    assert path is None and pyspy.PYSPY_ENV in why
    exe = tmp_path / "py-spy"
    exe.write_text("#!/bin/sh\necho py-spy 9.9.9\n")
    exe.chmod(0o755)
    monkeypatch.setenv(pyspy.PYSPY_ENV, str(exe))
    assert pyspy.find_pyspy() == (str(exe), "")


# -- arithmetic -------------------------------------------------------------------------

def _stacks(**threads: StackCounts) -> dict:
    return {int(k[1:]): v for k, v in threads.items()}


def test_flag_gives_held_and_stacks_give_wait_and_idle() -> None:
    stacks = gilstats.ProcChunk(pid=100, t0=0.0, t1=2.0, stacks=_stacks(
        t100=StackCounts("MainThread", total=40, released=40),
        t101=StackCounts("worker_0", total=40, held=10, wait=30),
        t102=StackCounts("worker_1", total=40, held=12, wait=26, idle=2),
        t103=StackCounts(gilprobe.PROBE_THREAD_NAME, total=40, released=40),
    ))
    held = gilstats.ProcChunk(pid=100, t0=1.0, t1=2.0, held={101: 20, 102: 30}, held_intervals=100.0,
                              names={101: "worker_0", 102: "worker_1"})
    acc = gilstats.Accumulator(skip_prefixes=(gil.OWN_THREADS,))
    acc.add(stacks)
    acc.add(held)
    threads = acc.threads([100])
    assert [t.name for t in threads] == ["MainThread", "worker_0", "worker_1"]  # main first, probe skipped
    main, w0, w1 = threads
    assert (main.held, main.released) == (0.0, 1.0)  # never seen holding: the flag says 0
    assert (w0.held, w0.wait, w0.idle, w0.samples) == (0.2, 0.75, 0.0, 40)
    assert w0.released == pytest.approx(0.05)
    assert w1.held == pytest.approx(0.3) and w1.idle == pytest.approx(0.05)
    for t in threads:
        assert t.held + t.wait + t.released + t.idle == pytest.approx(1.0)
    assert acc.span_s == {100: 1.0}


def test_extension_code_is_held_only_if_py_spy_saw_it_holding() -> None:
    stacks = _stacks(t101=StackCounts("worker_0", total=50, held=5, ext=45))
    released = gilstats.Accumulator()
    released.add(gilstats.ProcChunk(100, 0.0, 1.0, stacks=stacks))
    released.add(gilstats.ProcChunk(100, 0.0, 1.0, held={101: 10}, held_intervals=100.0))
    t = released.threads()[-1]
    assert t.held == pytest.approx(0.1) and t.released == pytest.approx(0.9)  # hashlib, NumPy
    kept = gilstats.Accumulator()
    kept.add(gilstats.ProcChunk(100, 0.0, 1.0, stacks=stacks))
    kept.add(gilstats.ProcChunk(100, 0.0, 1.0, held={101: 95}, held_intervals=100.0))
    t = kept.threads()[-1]
    assert t.held == pytest.approx(0.95) and t.released == pytest.approx(0.05)  # _pickle
    unknown = gilstats.Accumulator()
    unknown.add(gilstats.ProcChunk(100, 0.0, 1.0, stacks=stacks))
    assert unknown.threads()[0].held == pytest.approx(0.1)  # no flag: only what the stacks prove


def test_a_single_threaded_worker_uses_the_flag_and_the_runner_state() -> None:
    acc = gilstats.Accumulator()
    acc.add(gilstats.ProcChunk(200, 0.0, 0.5, held={200: 45}, held_intervals=50.0, idle_share=0.1))
    acc.add(gilstats.ProcChunk(200, 0.5, 1.0, held={}, held_intervals=50.0, idle_share=1.0))
    (t,) = acc.threads()
    assert (t.pid, t.tid, t.name) == (200, 200, "MainThread")  # present even in a round it never held
    assert t.wait == 0.0 and t.held == pytest.approx(0.45) and t.idle == pytest.approx(0.55)
    assert t.released == pytest.approx(0.0) and t.samples == 100


def test_noisy_flag_never_makes_shares_exceed_one() -> None:
    acc = gilstats.Accumulator()
    acc.add(gilstats.ProcChunk(200, 0.0, 0.5, held={200: 70}, held_intervals=50.0, idle_share=0.5))
    (t,) = acc.threads()
    assert t.held == 1.0 and t.idle == 0.0 and t.released == 0.0
    acc = gilstats.Accumulator()
    acc.add(gilstats.ProcChunk(100, 0.0, 1.0, stacks=_stacks(t101=StackCounts("w", total=10, wait=8, idle=2))))
    acc.add(gilstats.ProcChunk(100, 0.0, 1.0, held={101: 50}, held_intervals=100.0))
    (_, t) = acc.threads()
    assert t.held == 0.5 and t.wait == pytest.approx(0.4) and t.idle == pytest.approx(0.1)


def test_each_threads_wait_carries_its_sampling_interval() -> None:
    """A 4 s run at 10 Hz gives a worker ~37 native stacks: its wait is
    known to +-0.14, and the reason says so; 10x the samples, ~3x narrower."""
    def one(total: int, wait: int) -> GilThread:
        acc = gilstats.Accumulator()
        acc.add(gilstats.ProcChunk(100, 0.0, 1.0, stacks=_stacks(t101=StackCounts("w", total=total, wait=wait,
                                                                                  held=total - wait))))
        return acc.threads()[-1]

    few, many = one(37, 25), one(370, 250)
    for t in (few, many):
        low, high = t.wait_range
        assert low < t.wait < high
    assert (few.wait_range[1] - few.wait_range[0]) / 2 == pytest.approx(0.145, abs=0.005)
    assert (many.wait_range[1] - many.wait_range[0]) / 2 == pytest.approx(0.047, abs=0.003)
    assert gilstats.margin_note([few]) == "wait \u00b10.14 per thread (95%, from 37 samples)"
    assert gilstats.margin_note([many]) == "wait \u00b10.05 per thread (95%, from 370 samples)"
    lone = gilstats.Accumulator()
    lone.add(gilstats.ProcChunk(200, 0.0, 0.5, held={200: 45}, held_intervals=50.0))
    assert lone.threads()[0].wait_range is None  # a lone thread's wait is 0 by construction, not sampled
    assert gilstats.margin_note(lone.threads()) == ""
    # scaled into the room the flag leaves, with the figure
    acc = gilstats.Accumulator()
    acc.add(gilstats.ProcChunk(100, 0.0, 1.0, stacks=_stacks(t101=StackCounts("w", total=10, wait=10))))
    acc.add(gilstats.ProcChunk(100, 0.0, 1.0, held={101: 50}, held_intervals=100.0))
    t = acc.threads()[-1]
    assert t.wait == 0.5 and t.wait_range[1] == pytest.approx(0.5)


def test_threads_are_ordered_runner_first_then_workers_main_thread_first() -> None:
    acc = gilstats.Accumulator()
    acc.add(gilstats.ProcChunk(300, 0.0, 1.0, held={300: 9}, held_intervals=10.0))
    acc.add(gilstats.ProcChunk(100, 0.0, 1.0, stacks=_stacks(
        t105=StackCounts("Thread-1", total=10, released=10), t100=StackCounts("MainThread", total=10, held=10))))
    acc.add(gilstats.ProcChunk(200, 0.0, 1.0, held={201: 5, 200: 1}, held_intervals=10.0))
    order = [(t.pid, t.tid) for t in acc.threads([100, 200, 300])]
    assert order == [(100, 100), (100, 105), (200, 200), (200, 201), (300, 300)]


# -- the probe --------------------------------------------------------------------------

def test_probe_reports_window_and_total() -> None:
    now = [100.0]
    probe = gilprobe.GilProbe(clock=lambda: now[0])
    for i in range(10):
        probe.add(99.5 + i * 0.01, 0.0001)  # uncontended
    first = probe.report()
    assert first["n"] == 10 and first["c"] == 0.0 and first["ms"] == pytest.approx(0.1)
    now[0] = 102.0
    for i in range(10):
        probe.add(101.5 + i * 0.01, 0.005)  # waited a switch interval each time
    second = probe.report()
    assert second["n"] == 10 and second["c"] == 1.0 and second["ms"] == pytest.approx(5.0)
    assert second["total_n"] == 20 and second["total_c"] == 0.5
    assert second["total_ms"] == pytest.approx(2.55)
    now[0] = 110.0
    empty = probe.report()
    assert empty["n"] == 0 and empty["ms"] is None and empty["total_n"] == 20


def test_probe_thread_runs_and_stops() -> None:
    import time

    probe = gilprobe.GilProbe(interval_s=0.001).start()
    give_up = time.monotonic() + 20  # a loaded machine may run the thread late; it must run
    while probe.report()["total_n"] <= 10 and time.monotonic() < give_up:
        time.sleep(0.01)
    probe.stop()
    figures = probe.report()
    assert figures["total_n"] > 10 and figures["total_ms"] is not None
    assert not probe._thread.is_alive()


def test_probe_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(gilprobe.SWITCH_ENV, "0")
    assert not gilprobe.enabled()
    monkeypatch.delenv(gilprobe.SWITCH_ENV)
    assert gilprobe.enabled()


def test_allow_tracer_is_harmless() -> None:
    code = "import sys; sys.path.insert(0, %r); from execscope.runner import gilprobe; " \
           "print(gilprobe.allow_tracer(1), gilprobe.allow_tracer(0))" % ROOT
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    yama = ptrace.ptrace_scope() is not None
    assert out.stdout.split() == [str(yama), "False"]


# -- permissions ------------------------------------------------------------------------

@pytest.mark.parametrize("facts,words", [
    (dict(scope=3), ["ptrace_scope is 3", "reboot"]),
    (dict(target_uid=0, euid=1000, cap=False), ["another user", "run execscope as that user"]),
    (dict(scope=2, target_uid=1000, euid=1000, cap=False), ["ptrace_scope is 2", "sysctl"]),
    (dict(scope=None, target_uid=1000, euid=1000, cap=False, container=True), ["CAP_SYS_PTRACE", "--cap-add"]),
    (dict(scope=1, target_uid=1000, euid=1000, cap=False, container=False), ["ptrace_scope is 1", "=0"]),
    (dict(scope=None, target_uid=0, euid=0, cap=True, container=False), ["refused", "run as root"]),
])
def test_denial_advice_says_why_and_how_to_fix(facts: dict, words: list) -> None:
    defaults = dict(target_uid=None, scope=None, euid=0, cap=False, container=False)
    defaults.update(facts)
    text = ptrace.denial_advice(**defaults)
    for word in words:
        assert word in text
    assert text.count(". ") == 0  # one sentence


def test_ptrace_facts_read_from_proc(tmp_path) -> None:
    scope = tmp_path / "scope"
    scope.write_text("1\n")
    assert ptrace.ptrace_scope(str(scope)) == 1
    assert ptrace.ptrace_scope(str(tmp_path / "absent")) is None
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapEff:\t000001ffffffffff\n")
    assert ptrace.has_cap_sys_ptrace(str(status))
    status.write_text("CapEff:\t0000000000000000\n")
    assert not ptrace.has_cap_sys_ptrace(str(status))
    assert "Yama" in ptrace.scope_text(None) and "restricted" in ptrace.scope_text(1)


# -- the factory --------------------------------------------------------------------------

class _FakeSession:
    def __init__(self, interpreter: dict) -> None:
        self.interpreter = interpreter


def test_missing_pyspy_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pyspy.PYSPY_ENV, "/nonexistent/py-spy")
    sampler = gil.make_sampler(_FakeSession({"gil_enabled": True}))
    view = sampler.current()
    assert view.source == "unavailable" and "/nonexistent/py-spy" in view.reason
    sampler.stop()


def test_free_threaded_build_without_gil_is_disabled_on_faked_interpreter_facts() -> None:
    sampler = gil.make_sampler(_FakeSession({"free_threaded_build": True, "gil_enabled": False}))
    view = sampler.current()
    assert isinstance(view, GilView) and view.source == "disabled" and not view.threads


def test_a_free_threaded_build_run_as_it_really_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real runs under a free-threaded CPython found here (skipped without one):
    GIL disabled by default; with PYTHON_GIL=1 the GIL is back and never said
    to be disabled."""
    from execscope.tour import find_free_threaded
    from helpers import run_session

    ft, _seen = find_free_threaded()
    if ft is None:
        pytest.skip("no free-threaded CPython here (a python3.13t on PATH is found)")
    monkeypatch.delenv("PYTHON_GIL", raising=False)
    _, out = run_session("cpu", executor="thread", workers=2, tasks=8, params={"size": "20000"}, python=ft,
                         gil_sampling=True)
    assert out["interpreter"]["gil_enabled"] is False and out["gil"]["source"] == "disabled"
    monkeypatch.setenv("PYTHON_GIL", "1")
    _, out = run_session("cpu", executor="thread", workers=2, tasks=8, params={"size": "20000"}, python=ft,
                         gil_sampling=True)
    assert out["interpreter"]["gil_enabled"] is True and out["gil"]["source"] != "disabled", out["gil"]


def test_pthread_ids_before_311_are_folded_into_native_ids() -> None:
    acc = gilstats.Accumulator()
    acc.add(gilstats.ProcChunk(100, 0.0, 1.0, held={0x7F0000001000: 30, 0x7F0000002000: 20, 0x7F0000003000: 5},
                               held_intervals=100.0, names={0x7F0000001000: "worker_0",
                                                            0x7F0000002000: "MainThread",
                                                            0x7F0000003000: "worker_1"}))
    acc.add(gilstats.ProcChunk(100, 0.0, 1.0, stacks=_stacks(t101=StackCounts("worker_0", total=10, wait=5))))
    threads = {t.tid: t for t in acc.threads([100], known={(100, "worker_1"): 102})}
    assert set(threads) == {100, 101, 102}
    assert threads[101].held == 0.3 and threads[101].wait == 0.5
    assert threads[100].held == 0.2 and threads[102].held == 0.05


# -- when native stacks are taken ---------------------------------------------------------

def _held(t1: float, share: float) -> gilstats.ProcChunk:
    """A GIL-holder round ending at ``t1`` that found the GIL held ``share`` of its 100 intervals."""
    return gilstats.ProcChunk(100, t1 - gil.GIL_ROUND_S, t1, held={101: round(100 * share)}, held_intervals=100.0)


@pytest.mark.parametrize("share,due_at_once", [(0.9, True), (gil.BUSY_GIL, True), (0.05, False)])
def test_native_stacks_run_while_the_gil_is_busy_and_once_in_a_while_when_it_is_free(share, due_at_once) -> None:
    """Native stacks pause the process, so they are taken only where a thread
    can wait for the GIL: back to back while it is held BUSY_GIL of the time or
    more by two or more running thread workers, otherwise one round every
    QUIET_STACKS_EVERY_S."""
    sampler = gil.GilSampler.__new__(gil.GilSampler)  # _stacks_due reads only the window
    sampler.window_s = gil.WINDOW_S
    two = {100: 2}  # two thread workers of the run running in process 100
    target = gil._Target(pid=100, role="runner", stacks=True)
    assert sampler._stacks_due(target, 0.0, two)  # the first round: wait figures early
    target.stack_chunks.append(gilstats.ProcChunk(100, 8.0, 10.0))
    target.held.append(_held(10.5, share))
    assert sampler._stacks_due(target, 10.6, two) == due_at_once
    later = 10.0 + gil.QUIET_STACKS_EVERY_S
    target.held.append(_held(later - 0.2, share))  # the GIL as busy as it was
    assert sampler._stacks_due(target, later - 0.1, two) == due_at_once
    assert sampler._stacks_due(target, later, two)  # a round now and then
    target.held.clear()  # no GIL-holder figures in the window: assume it is busy
    assert sampler._stacks_due(target, 10.6, two)
    single = gil._Target(pid=100, role="worker", stacks=False)  # one Python thread: nobody waits
    assert not sampler._stacks_due(single, 0.0, two)


def test_a_busy_gil_with_one_running_worker_thread_gets_native_stacks_only_now_and_then() -> None:
    """A serial run, or a process pool's parent (its workers are processes):
    nobody of the run can wait for that GIL, so pausing the process ten times
    a second would only slow it down."""
    sampler = gil.GilSampler.__new__(gil.GilSampler)
    sampler.window_s = gil.WINDOW_S
    target = gil._Target(pid=100, role="runner", stacks=True)
    target.stack_chunks.append(gilstats.ProcChunk(100, 8.0, 10.0))
    target.held.append(_held(10.5, 0.95))
    for running in ({}, {100: 1}, {200: 4}):
        assert not sampler._stacks_due(target, 10.6, running)
    assert sampler._stacks_due(target, 10.0 + gil.QUIET_STACKS_EVERY_S, {100: 1})


# -- a machine with no CPU to spare ----------------------------------------------------------

def test_saturation_is_the_usable_cpus_busy_most_of_the_time() -> None:
    assert saturation.is_saturated([97.0, 91.0], 2)
    assert not saturation.is_saturated([97.0, 40.0], 2)
    assert saturation.is_saturated([60.0, 60.0, 0.0, 0.0], 1)  # a quota of one CPU, used
    assert not saturation.is_saturated([], 2)


def test_saturation_counts_only_the_cores_this_process_may_use() -> None:
    """The ticker's per-core figures cover the whole machine: another
    tenant's busy cores are not ours to spare."""
    assert saturation.saturated([95.0, 90.0, 0.0], 2, cores=[0, 1])
    assert not saturation.saturated([95.0, 0.0, 90.0], 2, cores=[0, 1])
    assert saturation.saturated([95.0, 0.0, 90.0], 2, cores=None)  # affinity unknown: every core
    assert not saturation.saturated([], 2, cores=[0, 1])


def _light_sampler(saturated: bool) -> "gil.GilSampler":
    sampler = gil.GilSampler.__new__(gil.GilSampler)  # _schedule reads rates, rounds and the load
    sampler.rates = {"gil": gil.GIL_HZ, "stacks": gil.STACKS_HZ}
    sampler.rounds_s = {"gil": gil.GIL_ROUND_S, "stacks": gil.STACKS_ROUND_S}
    sampler.light = {"hz": gil.GIL_LIGHT_HZ, "round_s": gil.GIL_LIGHT_ROUND_S}
    busy = [97.0, 95.0] if saturated else [30.0, 20.0]
    sampler.run = SimpleNamespace(cpu_per_core=lambda: busy, machine=lambda: {"usable_cpus": 2})
    return sampler


def test_a_saturated_machine_gets_longer_slower_gil_holder_rounds() -> None:
    """py-spy's CPU comes out of the run when no core idles: fewer starts and
    reads there for a process-pool worker (one Python thread), the same rounds
    elsewhere; native stacks keep their schedule."""
    target = gil._Target(pid=100, role="worker", stacks=False)
    assert _light_sampler(True)._schedule(target, "gil") == (gil.GIL_HZ, gil.GIL_ROUND_S)  # its first
    target.held.append(_held(0.5, 0.9))
    assert _light_sampler(False)._schedule(target, "gil") == (gil.GIL_HZ, gil.GIL_ROUND_S)
    rate, length = _light_sampler(True)._schedule(target, "gil")
    assert (rate, length) == (gil.GIL_LIGHT_HZ, gil.GIL_LIGHT_ROUND_S)
    assert rate * length >= 40  # still enough samples a round for a share
    assert rate / length < gil.GIL_HZ / gil.GIL_ROUND_S / 4  # py-spy reads and starts far less
    stacks = gil._Target(pid=100, role="runner", stacks=True)
    assert _light_sampler(True)._schedule(stacks, "stacks") == (gil.STACKS_HZ, gil.GIL_ROUND_S)
    # threads that can wait for the GIL: their figures are the point, at the full rate
    stacks.held.append(_held(0.5, 0.9))
    assert _light_sampler(True)._schedule(stacks, "gil") == (gil.GIL_HZ, gil.GIL_ROUND_S)


def test_many_workers_on_few_cpus_are_not_taken_for_gone_while_they_wait_their_turn() -> None:
    sampler = _light_sampler(True)
    sampler.light_rounds = 1
    sampler.max_processes = 1
    sampler.targets = {pid: gil._Target(pid=pid, role="worker", stacks=False) for pid in range(100, 116)}
    assert sampler._stale_s() >= 16 * gil.GIL_LIGHT_ROUND_S
    sampler.targets = {100: gil._Target(pid=100, role="runner", stacks=True)}
    assert sampler._stale_s() == gil.STALE_S
