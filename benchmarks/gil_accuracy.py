"""How true the GIL figures are: each method's per-worker wait and held beside the truth.

On CPython 3.15 the interpreter's own thread-state flags (``gilflags``) are
the truth: the same run is measured twice, once with the flags and once with
the py-spy estimate, in turn.  On 3.14 (``make pythons``) and the other
interpreters found here (pyenv's 3.13, this one), only py-spy can measure;
its figures are set beside the 3.15 flags for the same workload (the same
bytecode and switch interval: the share of time a thread waits for the GIL
is the workload's, not the version's).  The mean per worker over
``EXECSCOPE_BENCH_S`` seconds (default 4), ``EXECSCOPE_BENCH_REPS`` runs
(default 2) per row; ``|d|`` is the largest distance of any worker's wait
from the truth's mean wait.

    make pythons && python -m benchmarks gil_accuracy
"""

from __future__ import annotations

import os
import statistics
import sys
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

SECONDS = float(os.environ.get("EXECSCOPE_BENCH_S", "4"))
REPS = int(os.environ.get("EXECSCOPE_BENCH_REPS", "2"))
# (label, workload, executor, workers): pure Python in every worker
WORKLOADS = [("cpu thread x4", "cpu", "thread", 4), ("cpu thread x2", "cpu", "thread", 2),
             ("cpu process x2", "cpu", "process", 2)]


def _flags(targets: Any) -> Any:
    return FlagsSampler(targets, targets.interpreter["path"]).start()


def _pyspy(targets: Any) -> Any:
    path, why = pyspy.find_pyspy()
    if path is None:
        raise SystemExit("py-spy is not installed: %s" % why)
    return gil.GilSampler(targets, path).start()


def measure(python: str, workload: str, executor: str, workers: int,
            factory: Callable[[Any], Any]) -> Tuple[List[float], List[float], str]:
    """(each worker's wait, held, the view's source) over one run."""
    config = RunConfig(workload=workload, executor=executor, workers=workers, duration=SECONDS,
                       python=python, gil_sampling=True)
    session = Session(config, gil_sampler_factory=factory)
    session.run(timeout=SECONDS + 90)
    g = run_json(session.record())["gil"]
    pool = [t for t in g["threads"] if t["name"].startswith("worker_") or
            (executor == "process" and t["name"] == "MainThread" and t["pid"] != session.target_pid)]
    return [t["wait"] for t in pool], [t["held"] for t in pool], g["source"]


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


def main(argv: Optional[List[str]] = None) -> Dict[Tuple[str, str, str], Tuple[float, float]]:
    results: Dict[Tuple[str, str, str], Tuple[List[float], List[float]]] = {}
    interpreters = _interpreters()
    for wl_label, workload, executor, workers in WORKLOADS:
        for rep in range(REPS):
            for interp_label, path, methods in interpreters:
                order = list(methods.items())
                if rep % 2:
                    order.reverse()  # the two methods in turn, against drifting load
                for method, factory in order:
                    wait, held, source = measure(path, workload, executor, workers, factory)
                    if source != method:
                        print("(%s %s %s: no figures, source %s)" % (interp_label, wl_label, method, source))
                        continue
                    sums = results.setdefault((wl_label, interp_label, method), ([], []))
                    sums[0].extend(wait)
                    sums[1].extend(held)
    print("%d s per run, %d runs per row, %d logical CPUs; wait and held: mean over workers [min-max]"
          % (SECONDS, REPS, os.cpu_count() or 0))
    print()
    print("| workload | interpreter | method | wait | held | truth (3.15 flags) wait | abs(d) max |")
    print("|---|---|---|---|---|---|---|")
    table: Dict[Tuple[str, str, str], Tuple[float, float]] = {}
    for wl_label, _, _, _ in WORKLOADS:
        truth_key = next((k for k in results if k[0] == wl_label and k[2] == "flags"), None)
        truth = statistics.mean(results[truth_key][0]) if truth_key else None
        for key, (wait, held) in results.items():
            if key[0] != wl_label or not wait:
                continue
            mean_wait, mean_held = statistics.mean(wait), statistics.mean(held)
            table[key] = (mean_wait, mean_held)
            far = "-" if truth is None or key[2] == "flags" else "%.2f" % max(abs(w - truth) for w in wait)
            print("| %s | %s | %s | %.2f [%.2f-%.2f] | %.2f [%.2f-%.2f] | %s | %s |" % (
                key[0], key[1], key[2], mean_wait, min(wait), max(wait), mean_held, min(held), max(held),
                "-" if truth is None else "%.2f" % truth, far))
    return table


if __name__ == "__main__":
    main(sys.argv[1:])
