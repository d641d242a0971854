"""The observer effect: what execscope adds to the runs it watches, target by target.

Every ratio compares runs made side by side, alternating, in this one
invocation (a shared machine drifts; neighbours in time drift alike): the
ratio of the medians, and in brackets the spread of the paired ratios (each
repetition's watched run over the same repetition's plain one).  The figure
is wall time from pool creation to the last result, two workers.

1. instrumentation: two pools kept alive side by side (``_batch_pool.py``),
   one plain, one through execscope's ``Tracker`` (submitted as the runner
   submits) with the runner's 10 Hz poll loop (no runner, no samplers),
   alternating batches: thread and process pools (fork, forkserver, spawn),
   ``multiprocessing.Pool`` and loky where installed; tasks of a few hundred
   microseconds (the ``cpu`` workload) and no-ops.  The median of the
   batch-by-batch ratios; A/A rows (two plain pools) show the method's floor
   (``multiprocessing.Pool`` runs its no-ops in larger batches: see below).
   A thread pair runs on one CPU (see ``_batch_pool.py``).
2. full monitoring: a real run (``Session``: runner, psutil, GIL sampling at
   the default settings) against the same pool unwatched, 25 times each at
   least (a GIL-bound thread pool's runs spread widely: the plain runs'
   range is printed beside their median).
3. the speedups users read (compare, the tour): thread x2 and process x2
   against serial, watched and unwatched.
4. exit: a process-pool run stopped by SIGTERM and SIGINT (headless) and by
   ``q`` (the TUI in an 80x24 tmux pane), to the process's exit, with the
   JSON written and no process of the run left.
5. first frame: ``execscope`` in an 80x24 tmux pane to its first drawn frame
   (wall, and the CPU the process used until then).

    python -m benchmarks observer
    EXECSCOPE_BENCH_REPS=3 python -m benchmarks observer
    EXECSCOPE_BENCH_KINDS=process:fork,pool:fork python -m benchmarks.observer instrumentation

(``python -m benchmarks NAME`` runs whole benchmarks and keeps their output;
a section alone is run by the module itself, and kept nowhere.)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

CPU_SIZE = 3000  # cpu_task iterations: a few hundred microseconds a task
TARGETS = {  # (section, task) -> the most a ratio may be
    ("instrumentation", "cpu"): 1.05,
    ("instrumentation", "noop thread"): 1.10,
    ("instrumentation", "noop process"): 1.15,
    ("full", "cpu"): 1.08,
}

BATCH_POOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_batch_pool.py")


class BatchPool:
    """A ``_batch_pool.py`` child: one pool alive, batches on request."""

    def __init__(self, kind: str, method: str, task: str, watched: bool) -> None:
        self.proc = subprocess.Popen([sys.executable, BATCH_POOL, kind, method, task, "1" if watched else "0"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.close()
            err = self.proc.stderr.read().strip().splitlines()
            raise RuntimeError(err[-1] if err else "the pool did not start")

    def batch(self, n: int) -> Tuple[float, float]:
        """(wall seconds, CPU seconds of the process and its workers) for n tasks."""
        self.proc.stdin.write("%d\n" % n)
        self.proc.stdin.flush()
        data = json.loads(self.proc.stdout.readline())
        return data["wall"], data["cpu"]

    def close(self) -> None:
        try:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()


def paired_batches(kind: str, method: str, task: str, pairs: int, n: int,
                   watch: bool = True) -> Tuple[List[Tuple[float, float]], ...]:
    """Alternating batches of ``n`` tasks through a plain and a watched pool,
    both kept alive: ([(wall, cpu)] plain, [(wall, cpu)] watched).  With
    ``watch`` False the second pool is plain too: the method's own floor."""
    plain = BatchPool(kind, method, task, False)
    try:
        watched = BatchPool(kind, method, task, watch)
    except BaseException:
        plain.close()
        raise
    try:
        out = alternate(pairs, [lambda: plain.batch(n), lambda: watched.batch(n)])
    finally:
        plain.close()
        watched.close()
    return out[0], out[1]


def ratio_cell(plain: Sequence[float], watched: Sequence[float]) -> Tuple[float, str]:
    """(the median of the paired ratios, each batch's watched over the plain
    batch beside it, "1.03 [0.98-1.07] (sums 1.05)": with their middle half
    and the ratio of the sums).  The median: a neighbour's burst that lands on
    one batch moves the sums (the same pools once read 26.9 ms and 26.9 ms
    median and 1.12 summed), not the median.

    >>> ratio_cell([1.0, 1.0, 2.0, 1.0], [1.1, 1.05, 2.0, 1.0])
    (1.025, '1.025 [1.00-1.09] (sums 1.030)')
    """
    pairs = sorted(w / p for p, w in zip(plain, watched))
    ratio = statistics.median(pairs)
    q1, q3 = statistics.quantiles(pairs, n=4)[0], statistics.quantiles(pairs, n=4)[2]
    return round(ratio, 4), "%.3f [%.2f-%.2f] (sums %.3f)" % (ratio, q1, q3, sum(watched) / sum(plain))


def median_cell(plain: Sequence[float], watched: Sequence[float]) -> Tuple[float, str]:
    """Whole runs: (ratio of the medians, "1.03 [0.98-1.07]" with the middle
    half of the paired ratios); a median shrugs off the odd slow run.

    >>> median_cell([1.0, 1.0, 2.0, 1.0], [1.1, 1.05, 2.0, 1.0])
    (1.075, '1.075 [1.00-1.09]')
    """
    ratio = statistics.median(watched) / statistics.median(plain)
    quarters = statistics.quantiles(sorted(w / p for p, w in zip(plain, watched)), n=4)
    return round(ratio, 4), "%.3f [%.2f-%.2f]" % (ratio, quarters[0], quarters[2])


def verdict(ratio: float, limit: Optional[float]) -> str:
    if limit is None:
        return ""
    return "meets ≤%.2f" % limit if ratio <= limit else "MISSES ≤%.2f" % limit


def alternate(reps: int, arms: Sequence[Callable[[], Any]]) -> List[List[Any]]:
    """Each arm once per repetition, the order rotating so drift hits every arm alike."""
    out: List[List[Any]] = [[] for _ in arms]
    for rep in range(reps):
        order = list(range(len(arms)))
        order = order[rep % len(arms):] + order[:rep % len(arms)]
        for i in order:
            out[i].append(arms[i]())
    return out


def section_instrumentation(reps: int) -> None:
    import importlib.util

    kinds = [("thread", "-"), ("process", "fork"), ("process", "forkserver"), ("process", "spawn"),
             ("pool", "fork")]
    if importlib.util.find_spec("loky") is not None:
        kinds.append(("loky", "loky"))
    only = os.environ.get("EXECSCOPE_BENCH_KINDS")  # e.g. "process:fork,pool:fork,thread"
    if only:
        chosen = [tuple((part + ":-").split(":")[:2]) for part in only.split(",")]
        kinds = [(k, m) for k, m in kinds if (k, m) in chosen or (k, "-") in chosen]
    pairs = int(os.environ.get("EXECSCOPE_BENCH_PAIRS", "40"))
    sizes = {"cpu": 150, "noop": 400}
    # multiprocessing.Pool's no-op batches of 400 (~10 ms) are at the mercy of
    # when its task and result handler threads happen to wake: two plain pools
    # read 1.11 and 1.41 A/A, middle half 0.72-2.07.  Batches of 2000 read
    # 0.96-0.99 (middle half 0.79-1.35).
    pool_noops = 2000
    print("\n1. instrumentation alone (Tracker + the runner's 10 Hz tick, no samplers): two pools alive side by "
          "side, one plain, one watched, %d alternating batches each of %d cpu tasks (size %d) or %d no-ops "
          "(multiprocessing.Pool: %d), 2 workers" % (pairs, sizes["cpu"], CPU_SIZE, sizes["noop"], pool_noops))
    print("(ratio: the median of the batch-by-batch watched/plain ratios, in brackets their middle half, then "
          "the ratio of the sums; cpu: CPU seconds of the process and its workers; A/A: two plain pools, the "
          "method's own floor; thread pools: both on one CPU)")
    print("%-20s %-5s %9s %9s   %-32s %-13s %s" % ("executor", "task", "plain ms", "watched", "wall ratio [IQR]",
                                                  "target", "cpu ratio [IQR]"))
    cases = [(kind, method, task, True) for kind, method in kinds for task in ("cpu", "noop")]
    if os.environ.get("EXECSCOPE_BENCH_AA", "1") != "0":
        cases += [(kind, method, "noop", False) for kind, method in (("thread", "-"), ("process", "fork"), ("pool", "fork"))
                  if (kind, method) in kinds]
    for kind, method, task, watch in cases:
        label = _label(kind, method) + ("" if watch else " A/A")
        try:
            n = pool_noops if (kind, task) == ("pool", "noop") else sizes[task]
            plain_runs, watched_runs = paired_batches(kind, method, task, pairs, n, watch)
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
            print("%-20s %-5s unavailable: %s" % (label, task, exc), flush=True)
            continue
        plain, watched = [r[0] for r in plain_runs], [r[0] for r in watched_runs]
        ratio, cell = ratio_cell(plain, watched)
        _, cpu_cell = ratio_cell([r[1] for r in plain_runs], [r[1] for r in watched_runs])
        key = ("instrumentation", "cpu" if task == "cpu" else "noop %s" % ("thread" if kind == "thread"
                                                                           else "process"))
        print("%-20s %-5s %9.1f %9.1f   %-32s %-13s %s" % (
            label, task, 1000 * statistics.median(plain), 1000 * statistics.median(watched),
            cell, verdict(ratio, TARGETS.get(key)) if watch else "", cpu_cell.split(" (")[0]), flush=True)


def _label(kind: str, method: str) -> str:
    return kind if method in ("-", kind) else "%s %s" % (kind, method)


_PLAIN_POOL = r"""
import json, sys, time, multiprocessing
from concurrent.futures import ThreadPoolExecutor, ProcessPoolExecutor, wait
sys.path.insert(0, ROOT)
from execscope.workloads.cpu import cpu_task
kind, n = sys.argv[1], int(sys.argv[2])
t0 = time.monotonic()
if kind == "serial":
    ex = ThreadPoolExecutor(1)
elif kind == "thread":
    ex = ThreadPoolExecutor(2)
else:
    ex = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))
wait([ex.submit(cpu_task, i, size=SIZE) for i in range(n)])
elapsed = time.monotonic() - t0
ex.shutdown()
print(json.dumps({"elapsed": elapsed}))
"""


def plain_pool_once(kind: str, n: int) -> float:
    code = _PLAIN_POOL.replace("ROOT", repr(ROOT)).replace("SIZE", str(CPU_SIZE))
    out = subprocess.run([sys.executable, "-c", code, kind, str(n)], capture_output=True, text=True,
                         check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])["elapsed"]


def monitored_once(kind: str, n: int, shares: List[float]) -> float:
    """A real run at the default settings: pool creation to the last result, as execscope measured it."""
    from execscope.model import RunConfig
    from execscope.sampling import gil_factory
    from execscope.session import Session

    config = RunConfig(workload="cpu", executor=kind, workers=None if kind == "serial" else 2, tasks=n,
                       params={"size": str(CPU_SIZE)}, start_method="fork" if kind == "process" else None)
    session = Session(config, gil_sampler_factory=gil_factory(config))
    snap = session.run(timeout=600)
    if snap.status != "completed":
        raise RuntimeError("%s run ended %s: %s" % (kind, snap.status, snap.reason))
    if snap.observer.get("share") is not None:
        shares.append(snap.observer["share"])
    return snap.run_elapsed_s


def section_full(reps: int) -> None:
    # 10 000 tasks of ~230 us, two workers: the runs the targets were set on (1-4 s each)
    n = int(os.environ.get("EXECSCOPE_BENCH_TASKS", "10000"))
    # whole runs: more of them, and medians (two plain thread x2 runs of the
    # same 10 000 tasks differ by up to 40%: how the GIL happened to pass)
    reps = max(reps, 25)
    print("\n2. full monitoring (runner + psutil + GIL sampling, defaults) and 3. the speedups users read: "
          "%d cpu tasks (size %d), %d alternating repetitions; ratio of the medians, in brackets the middle half of "
          "the paired ratios" % (n, CPU_SIZE, reps))
    times: Dict[str, Tuple[List[float], List[float]]] = {}
    shares: Dict[str, List[float]] = {}
    for kind in ("serial", "thread", "process"):
        shares[kind] = []
        plain, watched = alternate(reps, [lambda: plain_pool_once(kind, n),
                                          lambda: monitored_once(kind, n, shares[kind])])
        times[kind] = (plain, watched)
    print("%-12s %20s %10s   %-24s %-14s %s" % ("executor", "plain s [min-max]", "watched s", "ratio [spread]",
                                              "target", "observer share (own figure)"))
    for kind, (plain, watched) in times.items():
        ratio, cell = median_cell(plain, watched)
        target = TARGETS[("full", "cpu")]
        own = "%.1f%%" % (100 * statistics.median(shares[kind])) if shares[kind] else "n/a"
        print("%-12s %20s %10.3f   %-24s %-14s %s" % (
            kind + ("" if kind == "serial" else " x2"),
            "%.3f [%.2f-%.2f]" % (statistics.median(plain), min(plain), max(plain)), statistics.median(watched),
            cell, verdict(ratio, target), own), flush=True)
    print("%-12s %10s %10s   %s" % ("speedup", "plain", "watched", "watched/plain (target within 5%)"))
    s_plain, s_watched = times["serial"]
    for kind in ("thread", "process"):
        plain, watched = times[kind]
        sp = [a / b for a, b in zip(s_plain, plain)]
        sw = [a / b for a, b in zip(s_watched, watched)]
        ratio, cell = median_cell(sp, sw)
        ok = "meets" if abs(ratio - 1.0) <= 0.05 else "MISSES"
        print("%-12s %9.2fx %9.2fx   %s %s" % (kind + " x2", statistics.median(sp), statistics.median(sw), cell, ok),
              flush=True)


def _execscope() -> str:
    here = os.path.join(os.path.dirname(sys.executable), "execscope")
    return here if os.path.exists(here) else shutil.which("execscope") or "execscope"


def _tree_left(pids: Sequence[int]) -> List[int]:
    left = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                left.append(pid)
        except psutil.Error:
            pass
    return left


def exit_headless(sig: int, settle_s: float = 3.0) -> Tuple[float, bool, List[int]]:
    """(seconds from the signal to exit, JSON written, processes of the run left)."""
    tmp = tempfile.mkdtemp(prefix="execscope-bench-")
    path = os.path.join(tmp, "run.json")
    proc = subprocess.Popen([_execscope(), "run", "cpu", "--executor", "process", "--workers", "2",
                             "--tasks", "100000", "--headless", "--json", path],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(settle_s)
        pids = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        t0 = time.monotonic()
        proc.send_signal(sig)
        proc.wait(timeout=30)
        took = time.monotonic() - t0
        return took, os.path.exists(path), _tree_left(pids)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


class Tmux:
    """A private tmux server with one 80x24 pane running a shell."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="execscope-bench-")
        self.sock = os.path.join(self.dir, "tmux")
        self("new-session", "-d", "-s", "b", "-x", "80", "-y", "24", "sh")

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.sock] + list(args), capture_output=True, text=True,
                              timeout=30).stdout

    def lines(self) -> List[str]:
        return [line for line in self("capture-pane", "-p", "-t", "b").splitlines() if line.strip()]

    def pane_pid(self) -> int:
        return int(self("display", "-p", "-t", "b", "#{pane_pid}").strip())

    def start(self, command: str) -> float:
        """Run ``command`` in place of the shell; the time it started."""
        marker = os.path.join(self.dir, "started")
        self("send-keys", "-t", "b", "clear; touch %s; exec %s" % (marker, command), "Enter")
        deadline = time.monotonic() + 10
        while not os.path.exists(marker) and time.monotonic() < deadline:
            time.sleep(0.002)
        return os.stat(marker).st_mtime

    def close(self) -> None:
        self("kill-server")
        shutil.rmtree(self.dir, ignore_errors=True)


def _cpu_s(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return float("nan")
    return times.user + times.system + times.children_user + times.children_system


def first_frame() -> Tuple[Optional[float], float]:
    """(seconds from exec to a drawn frame, CPU seconds the process had used by then)."""
    tmux = Tmux()
    try:
        time.sleep(0.2)
        t0 = tmux.start(_execscope())
        deadline = time.time() + 20
        while time.time() < deadline:
            if len(tmux.lines()) >= 5:  # the shell's line alone is one: the app has drawn
                took = time.time() - t0
                return took, _cpu_s(tmux.pane_pid())
            time.sleep(0.005)
        return None, float("nan")
    finally:
        tmux.close()


def exit_tui_q(settle_s: float = 3.0) -> Tuple[float, bool, List[int]]:
    """``q`` in the TUI watching a process-pool run: to exit, JSON, leftovers."""
    tmux = Tmux()
    path = os.path.join(tmux.dir, "run.json")
    try:
        time.sleep(0.2)
        tmux.start("%s run cpu --executor process --workers 2 --tasks 100000 --json %s" % (_execscope(), path))
        time.sleep(settle_s)
        pid = tmux.pane_pid()
        pids = [c.pid for c in psutil.Process(pid).children(recursive=True)]
        t0 = time.monotonic()
        tmux("send-keys", "-t", "b", "q")
        while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
            if time.monotonic() - t0 > 30:
                break
            time.sleep(0.002)
        took = time.monotonic() - t0
        return took, os.path.exists(path), _tree_left(pids)
    finally:
        tmux.close()


def section_exit_and_frame(reps: int) -> None:
    print("\n4. exit of a process-pool run (cpu, 2 workers), %d times each: seconds to exit "
          "(median, max); JSON written; processes left" % reps)
    cases: List[Tuple[str, Callable[[], Tuple[float, bool, List[int]]]]] = [
        ("SIGTERM (headless)", lambda: exit_headless(signal.SIGTERM)),
        ("SIGINT (headless)", lambda: exit_headless(signal.SIGINT)),
    ]
    if shutil.which("tmux"):
        cases.append(("q (TUI, 80x24)", exit_tui_q))
    for name, case in cases:
        results = [case() for _ in range(reps)]
        took = [r[0] for r in results]
        verdict_ = "meets ≤0.50" if statistics.median(took) <= 0.5 else "MISSES ≤0.50"
        print("%-20s %.3f s, %.3f s   json %d/%d   left %s   %s"
              % (name, statistics.median(took), max(took), sum(r[1] for r in results), reps,
                 sum(len(r[2]) for r in results), verdict_), flush=True)
    if not shutil.which("tmux"):
        print("\n5. first frame: unavailable (no tmux here)")
        return
    first_frame()  # compiles and caches what the next ones read
    frames = [first_frame() for _ in range(reps)]
    walls = [f[0] for f in frames if f[0] is not None]
    if not walls:
        print("\n5. first frame: no frame drawn within 20 s")
        return
    cpus = [f[1] for f in frames if f[0] is not None]
    print("\n5. first frame of `execscope` at 80x24 (tmux), %d times: %.3f s median [%.2f-%.2f], "
          "CPU by then %.2f s median   %s"
          % (len(walls), statistics.median(walls), min(walls), max(walls), statistics.median(cpus),
             "meets ≤0.80" if statistics.median(walls) <= 0.8 else "MISSES ≤0.80"), flush=True)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    reps = int(os.environ.get("EXECSCOPE_BENCH_REPS", "5"))
    known = ("instrumentation", "full", "exit")
    sections = [a for a in args if a in known] or list(known)
    print("observer effect on %d logical CPUs; load average at start %s" % (
        os.cpu_count() or 0, " ".join("%.2f" % x for x in os.getloadavg())), flush=True)
    if "instrumentation" in sections:
        section_instrumentation(reps)
    if "full" in sections:
        section_full(reps)
    if "exit" in sections:
        section_exit_and_frame(reps)
    print("\nload average at the end %s" % " ".join("%.2f" % x for x in os.getloadavg()))


if __name__ == "__main__":
    main()
