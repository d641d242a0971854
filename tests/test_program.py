"""``execscope run -- python prog.py``: programs nobody here wrote, instrumented from outside.

Each test starts a real program (the standard library's own compileall, or a
small program under tests/programs) and checks what execscope reports about
its executors.  Sizes are small; bands are generous.
"""

from __future__ import annotations

import http.server
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest

from execscope.model import RunConfig
from execscope.report import run_json
from execscope.sampling import pyspy
from execscope.sampling.gil import make_sampler
from execscope.sampling.gilstats import wilson
from execscope.session import Session
from helpers import ROOT, cli, command_line, load, still_running

PROGRAMS = os.path.join(ROOT, "tests", "programs")
needs_pyspy = pytest.mark.skipif(pyspy.find_pyspy()[0] is None, reason="py-spy is not installed")


def run_program(*argv: str, timeout: float = 60.0, **config):
    config.setdefault("gil_sampling", False)
    session = Session(RunConfig(workload=" ".join(argv), argv=tuple(argv), **config))
    session.run(timeout=timeout)
    return session, run_json(session.record())


def stdlib_sources(n: int) -> list:
    """n small, plain standard-library modules."""
    lib = os.path.dirname(os.__file__)
    names = sorted(f for f in os.listdir(lib) if f.endswith(".py") and not f.startswith("_"))
    picked = [f for f in names if 1_000 < os.path.getsize(os.path.join(lib, f)) < 40_000][:n]
    assert len(picked) == n
    return [os.path.join(lib, f) for f in picked]


def test_compileall_reports_a_process_pool_and_every_file_as_a_task(tmp_path):
    n = 12
    for path in stdlib_sources(n):
        shutil.copy(path, tmp_path)
    session, data = run_program(sys.executable, "-m", "compileall", "-j", "2", "-f", "-q", str(tmp_path))
    assert data["status"] == "completed", data["reason"]
    assert data["program"]["exit_code"] == 0
    assert len(os.listdir(tmp_path / "__pycache__")) == n  # the program really did its work
    pools = [e for e in data["executors"] if e["kind"] == "process"]
    assert len(pools) == 1, data["executors"]
    pool = pools[0]
    assert pool["created_at"].startswith("compileall.py:")
    assert pool["max_workers"] == 2
    assert pool["mode"] == "map"
    assert pool["tasks"]["completed"] == n and pool["tasks"]["failed"] == 0
    assert data["tasks"]["completed"] == n  # the run's total sums its executors
    assert pool["ipc"]["bytes_sent"] > 0 and pool["breakdown_s"]["compute"] > 0


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    delay_s = 0.03

    def do_GET(self):  # noqa: N802 (http.server's naming)
        time.sleep(self.delay_s)
        body = b"x" * 2000
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d/" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@needs_pyspy
def test_thread_pool_fetching_http_is_reported_io_bound(http_url):
    config = RunConfig(workload="http_fetch", argv=(sys.executable, os.path.join(PROGRAMS, "http_fetch.py"),
                                                    http_url, "80", "4"), gil_sampling=True)
    session = Session(config, gil_sampler_factory=make_sampler)
    session.run(timeout=60)
    data = run_json(session.record())
    assert data["status"] == "completed", data["reason"]
    assert "fetched 80" in "\n".join(data["output"]["tail"])
    (pool,) = data["executors"]
    assert pool["kind"] == "thread" and pool["max_workers"] == 4
    assert pool["created_at"].endswith("http_fetch.py:19")
    assert pool["tasks"]["completed"] == 80
    assert pool["bound"] == "io-bound", pool
    assert pool["cpu_per_running_worker"] < 0.25
    # Four threads waiting on sockets leave the process far below one core.
    assert data["cpu"]["process_tree_mean_percent"] < 50
    # ...and they do not queue for the GIL: a program's threads are sampled
    # like the runner's, and sockets release it.
    assert data["gil"]["source"] == "py-spy", data["gil"]["reason"]
    fetchers = [t for t in data["gil"]["threads"] if t["wait_95"] is not None and t["name"] != "MainThread"]
    assert len(fetchers) >= 2, data["gil"]["threads"]  # threads start as tasks arrive
    # A short run gives each thread a few native stacks (1-7 here), and one of
    # them may catch a thread taking the GIL back after a read: the fetchers'
    # stacks (``samples`` of a thread with a ``wait_95``) are pooled, and
    # their wait share must be credibly under 0.2.
    stacks = sum(t["samples"] for t in fetchers)
    waiting = round(sum(t["wait"] * t["samples"] for t in fetchers))
    assert wilson(waiting, stacks)[0] < 0.2, fetchers
    assert sum((t["released"] + t["idle"]) * t["samples"] for t in fetchers) / stacks > 0.5, fetchers


def test_recursive_submit_deadlock_is_found_and_stopped(tmp_path):
    out = tmp_path / "run.json"
    result = cli("run", "--headless", "--json", str(out), "--",
                 sys.executable, os.path.join(PROGRAMS, "recursive_submit.py"), "2", timeout=60)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "submitted 4" in result.stdout  # the program's own output, passed through
    data = load(str(out))
    assert data["status"] == "deadlock"
    starvation = [a for a in data["alerts"] if a["kind"] == "starvation"]
    assert starvation and starvation[0]["severity"] == "critical"
    assert starvation[0]["evidence"]["executor"].endswith("recursive_submit.py:18")
    (pool,) = data["executors"]
    assert [a["kind"] for a in pool["alerts"]] == ["starvation"]
    assert data["program"]["exit_code"] == -signal.SIGKILL


def test_threads_waiting_on_another_pool_are_busy_not_starved(tmp_path):
    """A thread pool whose tasks each wait on a process pool's future (the
    usual feeder) is not starving: every worker waits, but on another
    executor, which keeps completing.  The same program's recursive cousin
    above is."""
    out = tmp_path / "run.json"
    result = cli("run", "--headless", "--json", str(out), "--",
                 sys.executable, os.path.join(PROGRAMS, "feeder_pools.py"), "3", timeout=90)
    assert result.returncode == 0, result.stderr
    data = load(str(out))
    assert data["status"] == "completed" and data["program"]["exit_code"] == 0
    assert [a for a in data["alerts"] if a["kind"] == "starvation"] == []
    kinds = sorted(e["kind"] for e in data["executors"])
    assert kinds == ["process", "thread"]
    thread_pool = next(e for e in data["executors"] if e["kind"] == "thread")
    assert thread_pool["tasks"]["completed"] > 50  # it was busy feeding the process pool


def test_several_executors_each_named_by_where_they_were_made():
    session, data = run_program(sys.executable, os.path.join(PROGRAMS, "mixed.py"))
    assert data["status"] == "completed", (data["reason"], data["output"]["tail"])
    tail = "\n".join(data["output"]["tail"])
    assert "caught negative: -1" in tail  # the task's own exception type reached the program
    by_kind = {}
    for e in data["executors"]:
        by_kind.setdefault(e["kind"], []).append(e)
    asyncio_pool = [e for e in by_kind["thread"] if e["created_at"].startswith("asyncio/")]
    assert asyncio_pool and asyncio_pool[0]["via"].endswith("mixed.py:38")
    assert asyncio_pool[0]["tasks"]["completed"] == 15  # run_in_executor and to_thread
    pool, second = by_kind["process"]
    assert pool["start_method"] == "spawn" and pool["chunksize"] == 4
    assert pool["tasks"]["completed"] == 30 and pool["tasks"]["failed"] == 1
    assert second["start_method"] == "fork" and second["tasks"]["completed"] == 5
    # each pool's pickling is timed and counted for that pool
    assert pool["ipc"]["bytes_sent"] > 0 and second["ipc"]["bytes_sent"] > 0
    child = [e for e in by_kind["thread"] if e["created_at"] == "<string>:3"]
    assert child and child[0]["pid"] != data["program"]["pid"]  # made by the program's child process
    assert child[0]["tasks"]["completed"] == 20
    assert data["tasks"]["completed"] == sum(e["tasks"]["completed"] for e in data["executors"]) == 70
    assert data["errors"][0]["message"] == "ValueError: negative: -1"
    # the agents time their trackers' own work too (one task in 16 of a process pool, 64 of a thread pool)
    instrumentation = data["observer"]["instrumentation"]
    assert "reason" not in instrumentation and instrumentation["timed_every"] == 16
    assert instrumentation["timed_tasks"] >= 4  # at least task 0 of each of the four executors
    assert 0 < instrumentation["per_task_s"] < 0.01 and instrumentation["submit_s"] > 0


def test_output_passes_through_headless_and_the_summary_goes_to_stderr():
    code = "print('out-line'); import sys; print('err-line', file=sys.stderr); sys.exit(3)"
    result = cli("run", "--headless", "--", sys.executable, "-c", code, timeout=60)
    assert result.returncode == 1
    assert result.stdout == "out-line\n"
    assert "err-line" in result.stderr
    assert "exited with code 3" in result.stderr and "executors  none seen" in result.stderr


def test_a_program_without_executors_completes():
    session, data = run_program(sys.executable, "-c", "print(sum(range(10)))")
    assert data["status"] == "completed"
    assert data["executors"] == [] and data["tasks"]["completed"] == 0
    assert data["program"]["instrumented"] is True and data["output"]["tail"] == ["45"]


def test_a_program_that_closes_every_descriptor_is_left_alone():
    """Our socket closed and its number reused for the program's own pipe:
    telemetry stops, nothing is written into the pipe, the program is not killed."""
    code = ("import os, time\nos.closerange(3, 4096)\nr, w = os.pipe()\ntime.sleep(0.5)\n"
            "os.write(w, b'mine')\nprint(os.read(r, 100))")
    session, data = run_program(sys.executable, "-c", code)
    assert data["status"] == "completed", data["reason"]
    assert data["output"]["tail"] == ["b'mine'"]


def test_timeout_stops_the_program():
    config = RunConfig(workload="sleep", argv=(sys.executable, "-c", "import time; time.sleep(60)"),
                       timeout=1.0, gil_sampling=False)
    snap = Session(config).run(timeout=30)
    # stopped by the run's own --timeout (the session's outer limit would say
    # "failed ... killed by SIGKILL" instead)
    assert snap.status == "timeout" and "--timeout 1s" in snap.reason, snap.reason
    assert snap.program is not None and snap.program.exit_code == -signal.SIGKILL


def test_the_programs_own_sitecustomize_still_runs(tmp_path, monkeypatch):
    (tmp_path / "sitecustomize.py").write_text("import os\nos.environ['SITE_RAN'] = 'yes'\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    session, data = run_program(sys.executable, "-c", "import os; print(os.environ.get('SITE_RAN'))")
    assert data["output"]["tail"] == ["yes"]
    assert data["program"]["instrumented"] is True


def test_killing_execscope_takes_the_program_down():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen([sys.executable, "-m", "execscope", "run", "--headless", "--",
                             sys.executable, os.path.join(PROGRAMS, "recursive_submit.py"), "2"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 20
    tree = []
    while time.monotonic() < deadline and not tree:
        tree = [p for p in parent.children(recursive=True) if "recursive_submit" in command_line(p)]
        time.sleep(0.05)
    assert tree, "the program never started"
    time.sleep(0.3)
    proc.kill()
    proc.wait(timeout=5)
    _, alive = psutil.wait_procs(tree, timeout=3)
    assert not still_running(alive)


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["ls", "-l"], "not a Python interpreter"),
        (["prog.py"], "name the interpreter first"),
        ([sys.executable, "-I", "prog.py"], "drop -I"),
        ([sys.executable, "-Es", "prog.py"], "drop -E"),
        ([sys.executable, "-S", "prog.py"], "drop -S"),
        ([sys.executable], "give a script"),
        ([sys.executable, "-W", "error"], "give a script"),
        (["no-such-python-here", "x.py"], "no such program"),
        ([], "give the program"),
    ],
)
def test_what_cannot_be_instrumented_is_one_clear_line(argv, needle):
    result = cli("run", "--headless", "--", *argv, timeout=60)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (["run", "--workers", "3", "--headless", "--", "python", "x.py"], "--workers applies to built-in"),
        (["run", "cpu", "--headless", "--", "python", "x.py"], "not both"),
        (["run", "--headless"], "give a WORKLOAD"),
    ],
)
def test_run_options_that_do_not_fit_a_program(args, needle):
    result = cli(*args, timeout=60)
    assert result.returncode == 2 and needle in result.stderr, result.stderr


def _edge_interpreters() -> list:
    from execscope.interpreters import discover

    found = sorted(discover(), key=lambda p: probe_version(p))
    return sorted({found[0], found[-1]}) if found else []


def probe_version(path: str) -> tuple:
    from execscope.interpreters import probe

    return tuple(probe(path)["version"])


@pytest.mark.parametrize("python", _edge_interpreters())
def test_the_injection_works_under_the_oldest_and_newest_interpreter_here(python):
    """The injected code runs inside the program's interpreter: 3.9 syntax, stdlib only."""
    session, data = run_program(python, os.path.join(PROGRAMS, "mixed.py"))
    assert data["status"] == "completed", (data["reason"], data["output"]["tail"])
    assert data["interpreter"]["version"] == ".".join(map(str, probe_version(python)))
    assert len(data["executors"]) == 4 and data["tasks"]["completed"] == 70


def test_reading_worker_frames_leaves_the_programs_stderr_alone_on_3_14():
    """The tracker reads thread frames to tell blocked workers; its own frame
    in that dict made a cycle the GC later freed in the program's threads,
    where a BytesIO still exported by a memoryview printed 'Exception ignored
    ... BufferError' (4-6 times in a 4 s run of this program on 3.14)."""
    from pythons import python_or_skip

    python = python_or_skip("3.14")
    result = cli("run", "--headless", "--", python, os.path.join(PROGRAMS, "rate_pools.py"), "3", timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "round " in result.stdout
    assert "BufferError" not in result.stderr and "Exception ignored" not in result.stderr
