"""The tour: every claim of the article (C1..C14), measured here.

Each claim is a ``ClaimStep``, plain data that the headless report and the
TUI's guided tour both use:

    claim    "C2"
    text     the claim, paraphrased in one line
    watch    one sentence: what to watch while it runs
    runs     (name, RunConfig) pairs: the runs the judgement needs
    focus    the name of the run a live view should show
    judge    function(runs by name, Facts) -> Check(status, measured, figure)
    blocked  non-empty when the claim cannot run here: why, and what it needs

``Check.status`` is one of ``holds``, ``does not hold``, ``cannot run here``
or ``not measured`` (a run failed; ``measured`` says which and why).  Judges
read run objects (``execscope.run/1``) only, so they are pure and testable
without processes; thresholds are stated in each judge's sentence.

The headless report, with figures from one machine in the comments::

    runner = TourRunner(steps(size="tiny"))
    for result in runner.results():          # one StepResult per claim
        print(result.step.claim, result.check.status, result.check.figure)
                                             # C1 holds 0.90 of 2 CPUs
                                             # C2 does not hold thread x4 2.03x ...

``TourRunner`` runs each distinct configuration once (steps share runs:
C2 and C6 both need the serial ``cpu`` baseline) and ``stop()`` from any
thread ends the run in progress.  ``size="default"`` finishes in well under
three minutes on a 2-CPU machine (about 20-30 s on an idle one);
``size="tiny"`` is for tests.

A guided tour in the TUI steps one claim at a time, from a worker thread::

    runner = TourRunner(steps(), on_snapshot=lambda step, name, snap: ...)  # live panels
    result = runner.run_step(step, index)     # runs what the step needs, then judges
    runner.stop(); runner.resume()            # skip the rest of a step, go on

``on_snapshot`` is called from the session's ticker thread; the run named
``step.focus`` is the one worth showing full screen.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from .compare import Interrupted, Sequencer, cpu_trusted, other_cpus, run_label
from .errors import UsageError
from .model import RunConfig, Snapshot
from .fmt import fmt_bytes, fmt_rate as _rate, fmt_s, fmt_x as _x

SCHEMA_TOUR = "execscope.tour/1"
HOLDS, FAILS, CANNOT, UNMEASURED = "holds", "does not hold", "cannot run here", "not measured"

Runs = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Check:
    status: str  # holds | does not hold | cannot run here | not measured
    measured: str  # what was measured, with numbers
    figure: str  # the headline figure


@dataclass(frozen=True)
class Facts:
    """What the judges may know besides the runs."""

    size: str
    usable_cpus: int
    python: Optional[str] = None


@dataclass(frozen=True)
class ClaimStep:
    claim: str
    text: str
    watch: str
    runs: Tuple[Tuple[str, RunConfig], ...] = ()
    focus: str = ""
    judge: Optional[Callable[[Runs, Facts], Check]] = None
    blocked: str = ""  # the claim cannot run here: why, and what it would need

    def config(self, name: str) -> RunConfig:
        for key, config in self.runs:
            if key == name:
                return config
        raise KeyError(name)


class NotMeasured(Exception):
    """A run the judgement needs did not give what it needs."""


# -- sizes ---------------------------------------------------------------------------

# Per size: tasks and workload parameters of each experiment.  "default" keeps
# every run long enough for the 10 Hz CPU sampling to see it (>= ~0.3 s)
# while the whole tour stays well under three minutes on 2 CPUs.
SIZES: Dict[str, Dict[str, Any]] = {
    "default": {
        "cpu": (100, {"size": "150000"}),
        "io": (240, {"latency_ms": "20"}),
        "noop": (5000, {}),
        "chunksize": (8000, (1, 10, 100)),
        "pickle": (24, {"mb": "4"}),
        "numpy": (400, {"n": "400"}),
        "recursive": (8, {"fanout": "2", "work_ms": "5"}),
        "startup": (60, {"size": "150000"}),
        "deadlock_grace_s": 2.0,
        "timeout": 90.0,
    },
    "tiny": {
        "cpu": (8, {"size": "5000"}),
        "io": (16, {"latency_ms": "5"}),
        "noop": (50, {}),
        "chunksize": (120, (1, 10)),
        "pickle": (4, {"mb": "0.25"}),
        "numpy": (8, {"n": "60"}),
        "recursive": (8, {"fanout": "2", "work_ms": "1"}),
        "startup": (4, {"size": "1000"}),
        "deadlock_grace_s": 0.5,
        "timeout": 30.0,
    },
}


def _cfg(workload: str, executor: str, workers: Optional[int], spec: Tuple[int, Mapping[str, str]],
         python: Optional[str], timeout: float, gil: bool = False, start_method: Optional[str] = None,
         **extra: Any) -> RunConfig:
    tasks, params = spec
    return RunConfig(workload=workload, executor=executor, start_method=start_method, workers=workers,
                     tasks=tasks, params=dict(params), python=python, timeout=timeout, gil_sampling=gil,
                     **extra)


# -- helpers for judges -----------------------------------------------------------------


def _need(runs: Runs, *names: str, status: str = "completed") -> List[Mapping[str, Any]]:
    out = []
    for name in names:
        run = runs.get(name)
        if run is None:
            raise NotMeasured("run %s did not happen" % name)
        if run.get("status") != status:
            why = run.get("reason") or (run.get("tasks") or {}).get("first_error") or ""
            raise NotMeasured("run %s (%s) ended %s%s" % (name, run_label(run), run.get("status"),
                                                          ": " + why if why else ""))
        out.append(run)
    return out


def tput(run: Mapping[str, Any]) -> float:
    return float(run["tasks"]["throughput_per_s"] or 0.0)


def speedup(run: Mapping[str, Any], base: Mapping[str, Any]) -> float:
    b = tput(base)
    return tput(run) / b if b else 0.0


def tree_cores(run: Mapping[str, Any]) -> Optional[float]:
    """CPUs the run's process tree kept busy on average, when the run was long enough to tell."""
    value = run["cpu"].get("process_tree_mean_percent")
    if value is None or not cpu_trusted(run):
        return None
    return value / 100.0


def ipc_per_task(run: Mapping[str, Any]) -> float:
    b = run["breakdown_s"]
    return sum(b[k] or 0.0 for k in ("serialize", "transfer", "deserialize", "result_serialize",
                                      "result_transfer", "result_deserialize"))


def per_task_cost(run: Mapping[str, Any]) -> float:
    """Seconds of executor time per task once the pool is up: (wall - first task start) / tasks."""
    done = run["tasks"]["completed"] or 1
    return max(0.0, (run["wall_s"] or 0.0) - (run.get("first_task_start_s") or 0.0)) / done


def gil_threads(run: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    gil = run.get("gil") or {}
    if gil.get("source") not in ("py-spy", "flags"):  # flags: the interpreter's own (3.15+)
        return []
    return [t for t in gil.get("threads") or () if (t.get("held") or 0) + (t.get("wait") or 0) > 0.05]


def gil_sampler_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("execscope.sampling.gil") is not None


def gil_note(run: Mapping[str, Any]) -> str:
    gil = run.get("gil") or {}
    if gil.get("source") == "unavailable" and not gil_sampler_installed():
        return "GIL shares unavailable (this build has no py-spy GIL sampler)"
    return "GIL shares unavailable (%s)" % (gil.get("reason") or gil.get("source") or "not sampled")


def _load_phrase(runs: Sequence[Mapping[str, Any]]) -> str:
    loads = [x for x in (other_cpus(r) for r in runs) if x is not None]
    if not loads:
        return ""
    load = sum(loads) / len(loads)
    return "; other processes kept %.1f CPUs busy" % load if load >= 0.25 else ""


# -- the judges ---------------------------------------------------------------------------


def judge_c1(runs: Runs, facts: Facts) -> Check:
    (run,) = _need(runs, "thread x4")
    interval = run["interpreter"].get("switch_interval_s")
    if interval is None:
        raise NotMeasured("the runner did not report sys.getswitchinterval()")
    parts = ["switch interval %s (sys.getswitchinterval() in %s)" % (fmt_s(interval), run["interpreter"]["version"])]
    figures = []  # the headline: what the four threads got, the interval when nothing else was measured
    ok = True
    cores = tree_cores(run)
    if cores is not None and facts.usable_cpus >= 2:
        parts.append("4 pure-Python threads used %.2f of %d CPUs" % (cores, facts.usable_cpus))
        figures.append("%.2f of %d CPUs" % (cores, facts.usable_cpus))
        ok = cores <= 1.3
    threads = gil_threads(run)
    if threads:
        held = sum(t["held"] or 0 for t in threads)
        wait = sum(t["wait"] or 0 for t in threads) / len(threads)
        parts.append("GIL held %.2f in total over %d threads, each waiting %.0f%% of its samples"
                     % (held, len(threads), 100 * wait))
        figures.append("GIL held %.2f in all" % held)
        ok = ok and held <= 1.15
    else:
        parts.append(gil_note(run))
    return Check(HOLDS if ok else FAILS, "; ".join(parts), ", ".join(figures) or fmt_s(interval))


def judge_c2(runs: Runs, facts: Facts) -> Check:
    serial, t2, t4, proc = _need(runs, "serial", "thread x2", "thread x4", "process")
    s2, s4, sp = speedup(t2, serial), speedup(t4, serial), speedup(proc, serial)
    text = ("cpu: thread x2 %s, thread x4 %s serial (%s vs %s); %s %s"
            % (_x(s2), _x(s4), _rate(tput(t4)), _rate(tput(serial)), run_label(proc), _x(sp)))
    threads2, threads4 = gil_threads(t2), gil_threads(t4)
    if threads2 and threads4:
        w2 = sum(t["wait"] or 0 for t in threads2) / len(threads2)
        w4 = sum(t["wait"] or 0 for t in threads4) / len(threads4)
        text += "; GIL wait per thread %.0f%% with 2, %.0f%% with 4" % (100 * w2, 100 * w4)
    else:
        text += "; " + gil_note(t4)
    if s4 < s2:
        text += "; more threads were slower"
    # "does not scale": four threads no better than 1.25x one.
    return Check(HOLDS if s4 <= 1.25 else FAILS, text, "thread x4 %s" % _x(s4))


def judge_c3(runs: Runs, facts: Facts) -> Check:
    serial, t2, t4, t8 = _need(runs, "serial", "thread x2", "thread x4", "thread x8")
    ups = [(n, speedup(r, serial)) for n, r in ((2, t2), (4, t4), (8, t8))]
    cores = tree_cores(t8)
    text = "io (%s ms waits): %s serial" % (
        t8["workload"]["params"].get("latency_ms", "?"),
        ", ".join("thread x%d %s" % (n, _x(s)) for n, s in ups))
    if cores is not None:
        text += "; CPU %.0f%% of one core with 8 threads" % (100 * cores)
    threads = gil_threads(t8)
    if threads:
        text += "; GIL wait per thread at most %.0f%%" % (100 * max(t["wait"] or 0 for t in threads))
    else:
        text += "; " + gil_note(t8)
    # "about linear": every pool reaches at least 60% of its worker count.
    ok = all(s >= 0.6 * n for n, s in ups) and (cores is None or cores < 0.6)
    return Check(HOLDS if ok else FAILS, text, "thread x8 %s" % _x(ups[-1][1]))


def judge_c4(runs: Runs, facts: Facts) -> Check:
    parts, ok, figure = [], True, ""
    names = [n for n in runs if n.startswith("default")]
    if not names:
        raise NotMeasured("no run with the default max_workers")
    for name in sorted(names):
        (run,) = _need(runs, name)
        m = run["machine"]
        cpus = m.get("interpreter_cpu_count") or m.get("logical_cpus")
        expected = min(32, cpus + 4)
        got = run["executor"]["max_workers"]
        ok = ok and got == expected
        fn = "os.process_cpu_count()" if tuple(map(int, run["interpreter"]["version"].split(".")[:2])) >= (3, 13) \
            else "os.cpu_count()"
        parts.append("Python %s picked max_workers=%s; min(32, %s + 4) = %d with %s"
                     % (run["interpreter"]["version"], got, cpus, expected, fn))
        figure = figure or "%s threads" % got
    m = runs[sorted(names)[0]]["machine"]
    quota = m.get("cgroup_cpu_limit")
    parts.append("this machine: %s logical CPUs, %s in the affinity mask, cgroup quota %s, %s usable"
                 % (m.get("logical_cpus"), m.get("affinity_cpus"),
                    "none" if quota is None else "%.2f" % quota, m.get("usable_cpus")))
    return Check(HOLDS if ok else FAILS, "; ".join(parts), figure)


def judge_c5(runs: Runs, facts: Facts) -> Check:
    run = runs.get("thread x2")
    if run is None:
        raise NotMeasured("run thread x2 did not happen")
    alerts = [a for a in run.get("alerts") or () if a["kind"] == "starvation"]
    if run["status"] == "deadlock" and alerts:
        ev = alerts[0]["evidence"]
        text = ("recursive_submit, thread x2: every worker blocked on its own pool after %.1fs "
                "(starvation alert: %d blocked workers, %s queued sub-tasks); the run was stopped"
                % (alerts[0]["t_s"], len(ev.get("blocked_workers") or ()), ev.get("queued", "?")))
        return Check(HOLDS, text, "deadlock at %.1fs" % alerts[0]["t_s"])
    if run["status"] == "completed":
        return Check(FAILS, "recursive_submit, thread x2 completed %d tasks without starving"
                     % run["tasks"]["completed"], "no deadlock")
    raise NotMeasured("run thread x2 ended %s: %s" % (run["status"], run.get("reason") or ""))


def judge_c6(runs: Runs, facts: Facts) -> Check:
    serial, proc = _need(runs, "serial", "process")
    s = speedup(proc, serial)
    workers = proc["executor"]["max_workers"] or 1
    parallel = min(workers, facts.usable_cpus)
    cores = (proc["cpu"].get("per_core_mean_percent") or []) if tree_cores(proc) is not None else []
    text = "cpu: %s %s serial (%s vs %s) on %d usable CPUs" % (
        run_label(proc), _x(s), _rate(tput(proc)), _rate(tput(serial)), facts.usable_cpus)
    if cores:
        text += "; cores %s busy" % "/".join("%.0f%%" % c for c in cores[:16])
    text += _load_phrase([proc])
    if parallel < 2:
        return Check(FAILS, text + "; only one CPU is usable, so there is nothing to scale onto",
                     "%s %s" % (run_label(proc), _x(s)))
    # "scales with cores": at least 70% of the ideal speedup.
    return Check(HOLDS if s >= 0.7 * parallel else FAILS, text, "%s %s" % (run_label(proc), _x(s)))


def judge_c7(runs: Runs, facts: Facts) -> Check:
    (proc,) = _need(runs, "process")
    b = proc["breakdown_s"]
    n = proc["tasks"]["completed"] or 1
    per_task = proc["ipc"]["bytes_sent"] / n
    text = ("pickle_heavy (%s MiB list per task), %s: serialize %s, transfer %s, deserialize %s per task, "
            "%s pickled per task; %.0f%% of task time is IPC"
            % (proc["workload"]["params"].get("mb", "?"), run_label(proc), fmt_s(b["serialize"]),
               fmt_s(b["transfer"]), fmt_s(b["deserialize"]), fmt_bytes(per_task),
               100 * (proc["ipc"]["share_of_task_time"] or 0)))
    ok = per_task > 0 and (b["serialize"] or 0) > 0 and (b["deserialize"] or 0) > 0
    return Check(HOLDS if ok else FAILS, text, "%s and %s of IPC per task" % (fmt_bytes(per_task),
                                                                           fmt_s(ipc_per_task(proc))))


def judge_c8(runs: Runs, facts: Facts) -> Check:
    serial, proc = _need(runs, "serial", "process")
    s = speedup(proc, serial)
    kinds = sorted({a["kind"] for a in proc.get("alerts") or ()})
    text = ("pickle_heavy: %s %s serial (%s vs %s); IPC %.0f%% of task time"
            % (run_label(proc), _x(s), _rate(tput(proc)), _rate(tput(serial)),
               100 * (proc["ipc"]["share_of_task_time"] or 0)))
    if kinds:
        text += "; alerts: " + ", ".join(kinds)
    return Check(HOLDS if s < 1.0 else FAILS, text, "%s %s" % (run_label(proc), _x(s)))


def judge_c9(runs: Runs, facts: Facts) -> Check:
    names = sorted((n for n in runs if n.startswith("chunksize ")), key=lambda n: int(n.split()[1]))
    got = _need(runs, *names)
    if len(got) < 2:
        raise NotMeasured("the sweep needs at least two chunk sizes")
    parts = ["%s: %s, IPC %.0f%%" % (n, _rate(tput(r)), 100 * (r["ipc"]["share_of_task_time"] or 0))
             for n, r in zip(names, got)]
    lo, hi = got[0], got[-1]
    gain = tput(hi) / tput(lo) if tput(lo) else 0.0
    text = "%d tiny tasks, %s through map: %s" % (lo["tasks"]["completed"], run_label(lo), "; ".join(parts))
    # "cuts the round trips": 1.5x the throughput or more, and a smaller IPC share.
    ok = gain >= 1.5 and (hi["ipc"]["share_of_task_time"] or 0) <= (lo["ipc"]["share_of_task_time"] or 0)
    return Check(HOLDS if ok else FAILS, text, "%s: %s of chunksize 1" % (names[-1], _x(gain)))


def judge_c10(runs: Runs, facts: Facts) -> Check:
    pick, shm = _need(runs, "pickle", "shared_memory")
    n_p, n_s = pick["tasks"]["completed"] or 1, shm["tasks"]["completed"] or 1
    bp, bs = pick["ipc"]["bytes_sent"] / n_p, shm["ipc"]["bytes_sent"] / n_s
    ip, is_ = ipc_per_task(pick), ipc_per_task(shm)
    text = ("same %s MiB per task, %s: pickled %s and %s of IPC per task; shared memory %s and %s "
            "(IPC share %.0f%% -> %.0f%%; %s vs %s)"
            % (pick["workload"]["params"].get("mb", "?"), run_label(shm), fmt_bytes(bp), fmt_s(ip),
               fmt_bytes(bs), fmt_s(is_), 100 * (pick["ipc"]["share_of_task_time"] or 0),
               100 * (shm["ipc"]["share_of_task_time"] or 0), _rate(tput(shm)), _rate(tput(pick))))
    ok = bs <= 0.01 * bp and is_ <= 0.2 * ip
    return Check(HOLDS if ok else FAILS, text, "IPC %s -> %s per task" % (fmt_s(ip), fmt_s(is_)))


def judge_c11(runs: Runs, facts: Facts) -> Check:
    methods = [m for m in ("fork", "forkserver", "spawn") if m in runs]
    got = dict(zip(methods, _need(runs, *methods)))
    if "fork" not in got or len(got) < 2:
        raise NotMeasured("needs fork and at least one other start method")
    parts = []
    for m, r in got.items():
        ws = r["worker_startup_s"]
        parts.append("%s: worker start-up %s (max %s), first task %s, tree RSS %s"
                     % (m, fmt_s(ws["mean"]), fmt_s(ws["max"]), fmt_s(r.get("first_task_start_s")),
                        fmt_bytes(r["cpu"].get("peak_rss_bytes"))))
    start = {m: r["worker_startup_s"]["mean"] for m, r in got.items()}
    if any(v is None for v in start.values()):
        raise NotMeasured("a process run reported no worker start-up time")
    ok = all(start["fork"] < v for m, v in start.items() if m != "fork")
    if "spawn" in start and "forkserver" in start:
        ok = ok and start["forkserver"] <= start["spawn"] * 1.15
    text = "; ".join(parts)
    threaded = runs.get("fork with threads")
    if threaded is not None and threaded.get("status") == "completed":
        threads = threaded.get("runner_threads_at_first_submit") or []
        kinds = {a["kind"] for a in threaded.get("alerts") or ()}
        warned = [w for w in threaded.get("warnings") or () if w.get("category") == "DeprecationWarning"]
        text += "; forking with %d threads in the parent: %s" % (
            len(threads), "fork_with_threads alert" if "fork_with_threads" in kinds
            else "DeprecationWarning from Python" if warned else "no warning from this Python or execscope")
    figure = " / ".join("%s %s" % (m, fmt_s(start[m])) for m in got)
    return Check(HOLDS if ok else FAILS, text, figure)


def judge_c12(runs: Runs, facts: Facts) -> Check:
    names = [n for n in ("serial", "thread x2", "process") if n in runs]
    got = dict(zip(names, _need(runs, *names)))
    cost = {n: per_task_cost(r) for n, r in got.items()}
    text = "noop, executor time per task, (wall - first task start) / tasks: " + ", ".join(
        "%s %s" % (run_label(got[n]), fmt_s(cost[n])) for n in names)
    t, p = cost.get("thread x2"), cost.get("process")
    if t is None or p is None:
        raise NotMeasured("needs a thread and a process run")
    # "microseconds" vs "much larger": threads under 200 µs, processes 3x or more.
    ok = t < 200e-6 and p >= 3 * t
    return Check(HOLDS if ok else FAILS, text + " (%.0fx)" % (p / t if t else 0),
                 "thread %s, process %s" % (fmt_s(t), fmt_s(p)))


def judge_c13(runs: Runs, facts: Facts) -> Check:
    serial, thread, proc = _need(runs, "serial", "thread x2", "process")
    st, sp = speedup(thread, serial), speedup(proc, serial)
    text = ("numpy matmul n=%s: thread x2 %s, %s %s serial; IPC %.0f%% of process task time"
            % (thread["workload"]["params"].get("n", "?"), _x(st), run_label(proc), _x(sp),
               100 * (proc["ipc"]["share_of_task_time"] or 0)))
    threads = gil_threads(thread)
    if threads:
        text += "; GIL held %.0f%% per thread" % (100 * max(t["held"] or 0 for t in threads))
    text += _load_phrase([thread, proc])
    # Threads at least match processes, and gain over serial (the GIL was released).
    ok = st >= sp * 0.95 and (facts.usable_cpus < 2 or st >= 1.1)
    return Check(HOLDS if ok else FAILS, text, "thread %s vs process %s" % (_x(st), _x(sp)))


def judge_c14(runs: Runs, facts: Facts) -> Check:
    ft_serial, ft_thread = _need(runs, "free-threaded serial", "free-threaded thread x2")
    s = speedup(ft_thread, ft_serial)
    text = "cpu under %s %s (GIL %s): thread x2 %s serial" % (
        os.path.basename(ft_thread["interpreter"]["executable"]), ft_thread["interpreter"]["version"],
        "enabled" if ft_thread["interpreter"].get("gil_enabled") else "disabled", _x(s))
    gil_serial = runs.get("GIL-build serial")
    if gil_serial is not None and gil_serial.get("status") == "completed" and tput(gil_serial):
        text += "; single-thread speed %.2fx the GIL build (%s)" % (tput(ft_serial) / tput(gil_serial),
                                                                    gil_serial["interpreter"]["version"])
    ok = not ft_thread["interpreter"].get("gil_enabled") and s >= 1.4
    return Check(HOLDS if ok else FAILS, text, "thread x2 %s" % _x(s))


# -- the steps ---------------------------------------------------------------------------


CLAIMS: Dict[str, str] = {
    "C1": "The GIL lets one thread run bytecode at a time; it is asked to drop it every switch interval (5 ms).",
    "C2": "CPU-bound pure Python in a thread pool does not scale; more threads can be slower.",
    "C3": "Blocking I/O releases the GIL, so a thread pool scales I/O-bound work.",
    "C4": "ThreadPoolExecutor's default max_workers is min(32, cpu + 4); from 3.13 cpu honours affinity.",
    "C5": "A task that waits on futures of its own pool can exhaust the workers and deadlock.",
    "C6": "A process pool has one GIL per worker: CPU-bound work scales with cores.",
    "C7": "Process pools pickle arguments and results: CPU time, a copy, and bytes on a pipe.",
    "C8": "Large data with little compute makes a process pool slower than serial.",
    "C9": "A larger chunksize in map cuts the IPC round trips.",
    "C10": "multiprocessing.shared_memory avoids the copy.",
    "C11": "fork starts workers fast (unsafe with threads), spawn slow, forkserver in between.",
    "C12": "Thread pool overhead is microseconds; process pool overhead is much larger.",
    "C13": "NumPy releases the GIL: threads can beat processes (no copy).",
    "C14": "Free-threaded builds (3.13t) let threads scale pure-Python CPU work.",
}


# The text the claims come from, named once wherever a verdict says "the article".
ARTICLE = ("the article: \"Python concurrency in depth: ThreadPoolExecutor vs ProcessPoolExecutor\" "
           "(in Japanese), where claims C1-C14 come from")


def claim_lines(ids: Sequence[str]) -> List[str]:
    """``["C2   CPU-bound pure Python ...", ...]`` for the given ids, unknown ids kept."""
    return ["%-4s %s" % (cid, CLAIMS.get(cid, "")) for cid in ids]


def find_free_threaded(python: Optional[str] = None) -> Tuple[Optional[str], List[str]]:
    """A free-threaded CPython (the given one first), and the versions seen."""
    from .interpreters import discovered, probe

    candidates = []
    if python:
        try:
            candidates.append(probe(python))
        except UsageError:
            pass
    seen: List[str] = []
    for info in candidates + discovered():
        version = ".".join(map(str, info["version"])) + ("t" if info["free_threaded_build"] else "")
        if version not in seen:
            seen.append(version)
        if info["free_threaded_build"]:
            return info["path"], seen
    return None, seen


def _newer_interpreter(python: Optional[str]) -> Optional[str]:
    """A CPython 3.13+ with the GIL, beside the run's own (<3.13) one, for C4."""
    from .interpreters import discovered, probe

    own = probe(python)
    if tuple(own["version"][:2]) >= (3, 13):
        return None
    for info in discovered():
        if tuple(info["version"][:2]) >= (3, 13) and not info["free_threaded_build"]:
            return info["path"]
    return None


def _gil_build_beside(ft: Mapping[str, Any], own: Mapping[str, Any]) -> Optional[str]:
    """C14's single-thread baseline: a GIL build of the free-threaded one's
    version found here (the same version isolates the cost of free
    threading), else the tour's own interpreter or the one execscope runs
    on, whichever has the GIL; None when there is none."""
    from .interpreters import discovered, probe

    for info in discovered():
        if not info["free_threaded_build"] and info["version"][:2] == ft["version"][:2]:
            return info["path"]
    for info in (own, probe()):
        if not info["free_threaded_build"]:
            return info["path"]
    return None


def missing_module(module: str, python: Optional[str]) -> bool:
    """Can the run's interpreter import ``module``? (numpy for C13)"""
    import importlib.util
    import subprocess

    if python is None:
        return importlib.util.find_spec(module) is None
    from .interpreters import probe

    try:
        done = subprocess.run([probe(python)["path"], "-c", "import " + module], capture_output=True,
                              timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return True
    return done.returncode != 0


def steps(size: str = "default", python: Optional[str] = None, gil: bool = True,
          claims: Optional[Sequence[str]] = None) -> List[ClaimStep]:
    """The tour's steps, C1..C14, sized for ``size`` ("default" or "tiny")."""
    from .interpreters import probe
    from .machine import cpu_info

    if size not in SIZES:
        raise UsageError("--size %s: choose %s" % (size, " or ".join(SIZES)))
    z = SIZES[size]
    info = probe(python)
    methods = [m for m in ("fork", "forkserver", "spawn") if m in info["start_methods"]]
    default_method = "fork" if "fork" in methods else info["default_start_method"]
    usable = cpu_info()["usable_cpus"]
    procs = max(2, min(usable, 4))
    t = z["timeout"]

    def cfg(workload: str, executor: str, workers: Optional[int], spec: Any, gil_on: bool = False,
            start_method: Optional[str] = None, **extra: Any) -> RunConfig:
        if executor == "process" and start_method is None:
            start_method = default_method
        return _cfg(workload, executor, workers, spec, python, t, gil and gil_on, start_method, **extra)

    cpu, io, noop = z["cpu"], z["io"], z["noop"]
    cpu_runs = (("serial", cfg("cpu", "serial", None, cpu)),
                ("thread x2", cfg("cpu", "thread", 2, cpu, gil_on=True)),
                ("thread x4", cfg("cpu", "thread", 4, cpu, gil_on=True)),
                ("process", cfg("cpu", "process", procs, cpu)))
    pickle_spec = z["pickle"]
    shm_spec = (pickle_spec[0], {"mb": pickle_spec[1]["mb"]})
    n_chunk, chunks = z["chunksize"]
    su_tasks, su_params = z["startup"]
    c4_runs = [("default", cfg("noop", "thread", None, noop))]
    newer = _newer_interpreter(python)
    if newer:
        c4_runs.append(("default " + newer, _cfg("noop", "thread", None, noop, newer, t)))
    c11_runs = [(m, cfg("cpu", "process", 2, z["startup"], start_method=m)) for m in methods]
    if "fork" in methods:
        # The loopback server of io's socket variant is a thread in the runner:
        # the workers are forked from a process with threads.
        c11_runs.append(("fork with threads", cfg("io", "process", 2, (su_tasks, {"variant": "socket",
                                                                                    "latency_ms": "1"}),
                                                   start_method="fork")))
    if missing_module("numpy", python):
        c13: Dict[str, Any] = dict(blocked="needs numpy in %s (pip install numpy for that interpreter)"
                                   % info["path"])
    else:
        c13 = dict(runs=(("serial", cfg("numpy", "serial", None, z["numpy"])),
                         ("thread x2", cfg("numpy", "thread", 2, z["numpy"], gil_on=True)),
                         ("process", cfg("numpy", "process", 2, z["numpy"]))), focus="thread x2", judge=judge_c13)
    ft, seen = find_free_threaded(python)
    if ft:
        c14_runs = [("free-threaded serial", _cfg("cpu", "serial", None, cpu, ft, t)),
                    ("free-threaded thread x2", _cfg("cpu", "thread", 2, cpu, ft, t))]
        gil_build = _gil_build_beside(probe(ft), info)
        if gil_build is not None:
            c14_runs.append(("GIL-build serial", _cfg("cpu", "serial", None, cpu, gil_build, t)))
        c14 = dict(runs=tuple(c14_runs), focus="free-threaded thread x2", judge=judge_c14)
    else:
        c14 = dict(blocked=("needs a free-threaded CPython (3.13t or newer, PEP 703): `make pythons` builds "
                            "one, or pass one with --python; found only GIL builds here (%s)"
                            % ", ".join(seen or ["none"])))

    all_steps = [
        ClaimStep("C1", CLAIMS["C1"], "Four pure-Python threads: the tree uses about one CPU, however many "
                  "there are, and each thread waits for the GIL most of the time.",
                  (cpu_runs[2],), "thread x4", judge_c1),
        ClaimStep("C2", CLAIMS["C2"], "The cpu workload, one row per run: the thread x2 and thread x4 rows' "
                  "tasks/s stay near the serial row's while the process row pulls ahead.", cpu_runs, "thread x4", judge_c2),
        ClaimStep("C3", CLAIMS["C3"], "Sleeping tasks, one row per run: tasks/s doubles from serial to "
                  "thread x2, x4 and x8, while each row's CPU column stays low.",
                  (("serial", cfg("io", "serial", None, io)), ("thread x2", cfg("io", "thread", 2, io)),
                   ("thread x4", cfg("io", "thread", 4, io)), ("thread x8", cfg("io", "thread", 8, io, gil_on=True))),
                  "thread x8", judge_c3),
        ClaimStep("C4", CLAIMS["C4"], "The pool's size when max_workers is not given (Workers panel: "
                  "max_workers), next to the CPU counts, affinity and cgroup quota; a default row per "
                  "Python found here.", tuple(c4_runs), "default", judge_c4),
        ClaimStep("C5", CLAIMS["C5"], "Both workers wait on sub-tasks queued behind them: the starvation "
                  "alert names them and the run is stopped as a deadlock.",
                  (("thread x2", cfg("recursive_submit", "thread", 2, z["recursive"],
                                     deadlock_grace_s=z["deadlock_grace_s"])),), "thread x2", judge_c5),
        ClaimStep("C6", CLAIMS["C6"], "The cpu workload, serial row then process row: the process row's "
                  "tasks/s multiplies and its CPU column passes 100% as every core fills up.", (cpu_runs[0], cpu_runs[3]), "process", judge_c6),
        ClaimStep("C7", CLAIMS["C7"], "Each task ships megabytes: watch serialize, transfer and "
                  "deserialize dwarf compute in the breakdown.",
                  (("process", cfg("pickle_heavy", "process", 2, pickle_spec)),), "process", judge_c7),
        ClaimStep("C8", CLAIMS["C8"], "The same data-heavy tasks in the serial row and the process row: "
                  "the process row is slower, its IPC column near 100%.", (("serial", cfg("pickle_heavy", "serial", None, pickle_spec)),
                             ("process", cfg("pickle_heavy", "process", 2, pickle_spec))), "process", judge_c8),
        ClaimStep("C9", CLAIMS["C9"], "Thousands of tiny tasks through map, from the chunksize 1 row down: "
                  "tasks/s climbs and the IPC column falls as the chunks grow.",
                  tuple(("chunksize %d" % c, cfg("chunksize", "process", 2, (n_chunk, {"chunksize": str(c)})))
                        for c in chunks), "chunksize 1", judge_c9),
        ClaimStep("C10", CLAIMS["C10"], "The same megabytes pickled (pickle row) and through a shared-memory "
                  "block (shared_memory row): the IPC column collapses.",
                  (("pickle", cfg("pickle_heavy", "process", 2, pickle_spec)),
                   ("shared_memory", cfg("shared_memory", "process", 2, shm_spec))), "shared_memory", judge_c10),
        ClaimStep("C11", CLAIMS["C11"], "One row per start method, same tasks: the fork row finishes first; "
                  "spawn and forkserver take longer, paying for a fresh interpreter per worker.", tuple(c11_runs),
                  methods[-1] if methods else "", judge_c11),
        ClaimStep("C12", CLAIMS["C12"], "Empty tasks, one row per executor: tasks/s is the executor's own "
                  "cost, the process row far below the thread x2 and serial rows.",
                  (("serial", cfg("noop", "serial", None, noop)), ("thread x2", cfg("noop", "thread", 2, noop)),
                   ("process", cfg("noop", "process", 2, noop))), "process", judge_c12),
        ClaimStep("C13", CLAIMS["C13"], "Matrix multiplies in the serial, thread x2 and process rows: threads "
                  "share the arrays and run in parallel; the process row copies them (IPC column).", **c13),
        ClaimStep("C14", CLAIMS["C14"], "The cpu workload under a free-threaded interpreter: the free-threaded "
                  "thread x2 row beats free-threaded serial; GIL-build serial shows the single-thread cost.", **c14),
    ]
    if claims:
        wanted = {c.upper() for c in claims}
        unknown = wanted - set(CLAIMS)
        if unknown:
            raise UsageError("--claims: unknown claim %s (C1..C14)" % ", ".join(sorted(unknown)))
        all_steps = [s for s in all_steps if s.claim in wanted]
    return all_steps


# -- running the tour --------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    index: int
    total: int
    step: ClaimStep
    check: Check
    runs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def run_key(config: RunConfig) -> Tuple:
    return (config.workload, config.executor, config.start_method, config.workers, config.tasks,
            tuple(sorted(config.params.items())), config.python, config.deadlock_grace_s, config.gil_sampling)


class TourRunner:
    """Runs the steps in order; each distinct configuration once."""

    def __init__(self, tour_steps: Sequence[ClaimStep], facts: Optional[Facts] = None,
                 on_snapshot: Optional[Callable[[ClaimStep, str, Snapshot], None]] = None,
                 on_run: Optional[Callable[[ClaimStep, str, Mapping[str, Any]], None]] = None,
                 gil_factory: Optional[Callable[[RunConfig], Any]] = None, size: str = "default") -> None:
        from .machine import cpu_info

        self.steps = list(tour_steps)
        self.facts = facts or Facts(size=size, usable_cpus=cpu_info()["usable_cpus"])
        self.on_snapshot = on_snapshot
        self.on_run = on_run
        self.sequencer = Sequencer(gil_factory=gil_factory)
        self.cache: Dict[Tuple, Mapping[str, Any]] = {}
        self.interrupted = False

    def stop(self) -> None:
        """End the run in progress (any thread); ``results()`` then ends too."""
        self.sequencer.stop()

    def resume(self) -> None:
        """Allow ``run_step`` again after ``stop()``."""
        self.sequencer.resume()
        self.interrupted = False

    def run_step(self, step: ClaimStep, index: int = 0) -> StepResult:
        total = len(self.steps)
        if step.blocked:
            return StepResult(index, total, step, Check(CANNOT, step.blocked, "-"))
        runs: Dict[str, Mapping[str, Any]] = {}
        problem = ""
        for name, config in step.runs:
            key = run_key(config)
            if key not in self.cache:
                listener = None
                if self.on_snapshot is not None:
                    callback = self.on_snapshot
                    listener = lambda snap, s=step, n=name: callback(s, n, snap)  # noqa: E731
                try:
                    self.cache[key] = self.sequencer.run(config, listener=listener)
                except Interrupted:
                    self.interrupted = True
                    break
                except UsageError as exc:
                    problem = str(exc)
                    break
                if self.on_run is not None:
                    self.on_run(step, name, self.cache[key])
            runs[name] = self.cache[key]
        if self.sequencer.stopped:
            self.interrupted = True
        if problem:
            return StepResult(index, total, step, Check(CANNOT, problem, "-"), runs)
        # Only a measurement that is genuinely missing (a run that did not
        # happen or did not complete: ``NotMeasured``) is "not measured"; any
        # other exception in a judge is a bug in the judge and is raised.
        try:
            check = step.judge(runs, self.facts) if step.judge else Check(UNMEASURED, "no judge", "-")
        except NotMeasured as exc:
            check = Check(UNMEASURED, str(exc), "-")
        return StepResult(index, total, step, check, runs)

    def results(self) -> Iterator[StepResult]:
        for index, step in enumerate(self.steps):
            if self.sequencer.stopped:
                return
            yield self.run_step(step, index)


def tour_json(results: Sequence[StepResult], facts: Facts, machine: Mapping[str, Any],
              interpreter: Mapping[str, Any]) -> Dict[str, Any]:
    from .compare import row_from_run

    return {
        "schema": SCHEMA_TOUR,
        "size": facts.size,
        "machine": dict(machine),
        "interpreter": dict(interpreter),
        "claims": [
            {
                "id": r.step.claim,
                "claim": r.step.text,
                "watch": r.step.watch,
                "status": r.check.status,
                "measured": r.check.measured,
                "figure": r.check.figure,
                "runs": {name: row_from_run(run).json() for name, run in r.runs.items()},
            }
            for r in results
        ],
    }


def machine_of(results: Sequence[StepResult]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    for r in results:
        for run in r.runs.values():
            return dict(run.get("machine") or {}), dict(run.get("interpreter") or {})
    return {}, {"executable": sys.executable}
