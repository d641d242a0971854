"""How true the GIL figures are: each method's per-worker wait and held beside the truth.

On CPython 3.15 the interpreter's own thread-state flags (``gilflags``) are
the truth: the same run is measured twice, once with the flags and once with
the py-spy estimate, in turn.  On 3.14 (``make pythons``) and the other
interpreters found here (pyenv's 3.13, this one), only py-spy can measure;
its figures are set beside the 3.15 flags for the same workload (the same
bytecode and switch interval: the share of time a thread waits for the GIL
is the workload's, not the version's).

The calibration workloads: pure Python on 4 and 2 threads (they queue for
one GIL), 8 threads in blocking I/O (they release it), C code that drops it
(hashlib; NumPy where the interpreter has it), 2 processes and 2
subinterpreters (3.14+: a GIL each, nothing to wait for).  Each row: the
mean per worker over ``EXECSCOPE_BENCH_S`` seconds (default 10),
``EXECSCOPE_BENCH_REPS`` runs (default 2); ``samples`` is the mean number of
samples behind one worker's wait, ``95%`` the mean half-width of its
interval (sampling error alone: ``gilstats.wilson``), ``|d|`` the largest
distance of any worker's wait from the truth's mean wait, ``in 0.10`` how
many of the workers' figures lie within 0.10 of it.  A method that cannot
measure a workload says why instead of a figure.

    make pythons && python -m benchmarks gil_accuracy
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from execscope.interpreters import cached_python, discovered, probe  # noqa: E402
from execscope.model import RunConfig  # noqa: E402
from execscope.report import run_json  # noqa: E402
from execscope.sampling import gil, pyspy  # noqa: E402
from execscope.sampling.gilflags import FlagsSampler  # noqa: E402
from execscope.session import Session  # noqa: E402

SECONDS = float(os.environ.get("EXECSCOPE_BENCH_S", "10"))
REPS = int(os.environ.get("EXECSCOPE_BENCH_REPS", "2"))
TOLERANCE = 0.10


@dataclass(frozen=True)
class Load:
    label: str
    workload: str
    executor: str
    workers: int
    needs: str = ""  # "numpy": only where the interpreter imports it; "3.14": InterpreterPoolExecutor


WORKLOADS = [
    Load("cpu thread x4", "cpu", "thread", 4),
    Load("cpu thread x2", "cpu", "thread", 2),
    Load("io thread x8", "io", "thread", 8),
    Load("hash thread x2", "hash", "thread", 2),
    Load("numpy thread x2", "numpy", "thread", 2, needs="numpy"),
    Load("cpu process x2", "cpu", "process", 2),
    Load("cpu interpreter x2", "cpu", "interpreter", 2, needs="3.14"),
]


@dataclass
class Row:
    wait: List[float] = field(default_factory=list)
    held: List[float] = field(default_factory=list)
    half: List[float] = field(default_factory=list)  # each worker's 95% half-interval
    samples: List[int] = field(default_factory=list)
    why: str = ""  # no figures: the reason the run gave


def _flags(targets: Any) -> Any:
    return FlagsSampler(targets, targets.interpreter["path"]).start()


def _pyspy(targets: Any) -> Any:
    path, why = pyspy.find_pyspy()
    if path is None:
        raise SystemExit("py-spy is not installed: %s" % why)
    return gil.GilSampler(targets, path).start()


def measure(python: str, load: Load, factory: Callable[[Any], Any], row: Row) -> None:
    """Add each worker's figures of one run to ``row`` (or the reason there are none)."""
    config = RunConfig(workload=load.workload, executor=load.executor, workers=load.workers, duration=SECONDS,
                       python=python, gil_sampling=True)
    session = Session(config, gil_sampler_factory=factory)
    session.run(timeout=SECONDS + 90)
    doc = run_json(session.record())
    g = doc["gil"]
    by_tid = {t["tid"]: t for t in g["threads"]}
    by_pid = {}
    for t in g["threads"]:
        by_pid.setdefault(t["pid"], t)  # a process's main thread comes first
    seen = 0
    for w in doc["workers"]:
        t = by_pid.get(w["pid"]) if w["kind"] == "process" else by_tid.get(w["tid"])
        if t is None or w["gil_wait"] is None:
            continue
        seen += 1
        row.wait.append(t["wait"])
        row.held.append(t["held"])
        row.samples.append(t["samples"])
        if t.get("wait_95"):
            row.half.append((t["wait_95"][1] - t["wait_95"][0]) / 2)
    if not seen:
        row.why = "%s: %s" % (g["source"], g["reason"])


def _runs_numpy(python: str) -> bool:
    out = subprocess.run([python, "-I", "-c", "import numpy"], capture_output=True, timeout=60)
    return out.returncode == 0


def _interpreters() -> List[Tuple[str, str, Dict[str, Callable[[Any], Any]]]]:
    """(label, path, {method: sampler factory}) for each interpreter to measure."""
    found: List[Tuple[str, str, Dict[str, Callable[[Any], Any]]]] = []
    for name in ("3.15", "3.14"):
        path, why = cached_python(name)
        if path is None:
            print("(%s: %s)" % (name, why))
            continue
        methods = {"flags": _flags, "py-spy": _pyspy} if name == "3.15" else {"py-spy": _pyspy}
        found.append(("%s (make pythons)" % name, path, methods))
    pyenv = [i for i in discovered() if "/.pyenv/" in i["path"] and i["version"][:2] == [3, 13]]
    if pyenv:
        found.append(("3.13 (pyenv)", pyenv[0]["path"], {"py-spy": _pyspy}))
    here = probe(None)
    found.append(("%s (this one)" % ".".join(map(str, here["version"])), here["path"], {"py-spy": _pyspy}))
    return found


def _can_run(load: Load, path: str) -> bool:
    if load.needs == "numpy":
        return _runs_numpy(path)
    if load.needs == "3.14":
        return tuple(probe(path)["version"][:2]) >= (3, 14)
    return True


def main(argv: Optional[List[str]] = None) -> Dict[Tuple[str, str, str], Row]:
    results: Dict[Tuple[str, str, str], Row] = {}
    interpreters = _interpreters()
    for load in WORKLOADS:
        runnable = [i for i in interpreters if _can_run(load, i[1])]
        for rep in range(REPS):
            for interp_label, path, methods in runnable:
                order = list(methods.items())
                if rep % 2:
                    order.reverse()  # the two methods in turn, against drifting load
                for method, factory in order:
                    measure(path, load, factory, results.setdefault((load.label, interp_label, method), Row()))
    table(results)
    return results


def table(results: Dict[Tuple[str, str, str], Row]) -> None:
    print("%g s per run, %d runs per row, %d logical CPUs; wait and held: mean over workers [min-max]; "
          "samples: per worker; 95%%: a worker's sampling interval, mean half-width"
          % (SECONDS, REPS, os.cpu_count() or 0))
    print()
    print("| workload | interpreter | method | samples | wait | 95%% | held | truth (3.15 flags) wait "
          "| abs(d) max | in %.2f |" % TOLERANCE)
    print("|---|---|---|---|---|---|---|---|---|---|")
    for load in WORKLOADS:
        truth_row = next((r for k, r in results.items() if k[0] == load.label and k[2] == "flags" and r.wait), None)
        truth = statistics.mean(truth_row.wait) if truth_row else None
        for key, row in results.items():
            if key[0] != load.label:
                continue
            if not row.wait:
                print("| %s | %s | %s | - | unavailable: %s | | | | | |" % (key + (row.why or "no figures",)))
                continue
            exact = truth is None or key[2] == "flags"
            far = "-" if exact else "%.2f" % max(abs(w - truth) for w in row.wait)
            inside = "-" if exact else "%d/%d" % (sum(abs(w - truth) <= TOLERANCE for w in row.wait), len(row.wait))
            print("| %s | %s | %s | %d | %.2f [%.2f-%.2f] | %s | %.2f [%.2f-%.2f] | %s | %s | %s |" % (
                key[0], key[1], key[2], statistics.mean(row.samples),
                statistics.mean(row.wait), min(row.wait), max(row.wait),
                "±%.2f" % statistics.mean(row.half) if row.half else "-",
                statistics.mean(row.held), min(row.held), max(row.held),
                "-" if truth is None else "%.2f" % truth, far, inside))


if __name__ == "__main__":
    main(sys.argv[1:])
