"""What GIL measurement costs the run it measures: with and without, side by side.

Each scenario runs the same workload for ``EXECSCOPE_BENCH_S`` seconds
(default 4) through a real session, in turn:

- ``bare``: no py-spy sampler and no probe thread in the runner
  (``EXECSCOPE_GIL_PROBE=0``);
- ``probe``: the runner's probe thread only (what every run has);
- ``sampled``: the probe and the py-spy sampler at its default rates;
- ``S/G[/R[/M]]``: the sampler with native stacks at S Hz (in rounds of R
  seconds), the GIL-holder rounds at G Hz and at most M processes sampled at
  a time, for each given with ``--rates`` (to choose the defaults; 0
  switches one kind off).

The order rotates every repetition (``EXECSCOPE_BENCH_REPS``, default 3) so
that drifting load on the machine hits every arm alike.  The figure is
throughput (tasks per second over the run).  Each repetition's bare run is
compared with the same repetition's other arms (neighbours in time, so slow
drifts of the machine's load cancel) and the median of those ratios is
reported: bare / arm, so 1.05 means the arm ran 5% slower.  Also reported:
the CPU py-spy itself used, in % of one core over the run.  On a shared
machine only repeated, rotated runs mean anything; the load average is shown.

    python -m benchmarks gil_overhead
    python -m benchmarks.gil_overhead --rates 25/100,50/100,100/100
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from execscope.model import RunConfig  # noqa: E402
from execscope.runner.gilprobe import SWITCH_ENV  # noqa: E402
from execscope.sampling import gil, pyspy  # noqa: E402
from execscope.session import Session  # noqa: E402

# (workload, executor, workers, params)
SCENARIOS: Tuple[Tuple[str, str, Optional[int], Dict[str, str]], ...] = (
    ("cpu", "thread", 4, {}),
    ("cpu", "serial", None, {}),
    ("cpu", "process", 2, {}),
    ("hash", "thread", 2, {}),
)


def _factory(stacks_hz: int, gil_hz: int, stacks_round_s: float = gil.STACKS_ROUND_S,
             max_processes: Optional[int] = None) -> Callable[[Any], Any]:
    path, why = pyspy.find_pyspy()
    if path is None:
        raise SystemExit("gil_overhead needs py-spy: " + why)

    def make(targets: Any) -> Any:
        return gil.GilSampler(targets, path, stacks_hz=stacks_hz, gil_hz=gil_hz,
                              stacks_round_s=stacks_round_s, max_processes=max_processes).start()

    return make


def run_once(scenario: Tuple[str, str, Optional[int], Dict[str, str]], seconds: float,
             factory: Optional[Callable[[Any], Any]], probe: bool) -> Tuple[float, float]:
    """(tasks per second, py-spy CPU in % of one core)."""
    workload, executor, workers, params = scenario
    config = RunConfig(workload=workload, executor=executor, workers=workers, duration=seconds,
                       params=params, gil_sampling=factory is not None)
    previous = os.environ.get(SWITCH_ENV)
    os.environ[SWITCH_ENV] = "1" if probe else "0"
    try:
        session = Session(config, gil_sampler_factory=factory)
        snap = session.run(timeout=seconds + 60)
    finally:
        if previous is None:
            os.environ.pop(SWITCH_ENV, None)
        else:
            os.environ[SWITCH_ENV] = previous
    if snap.status != "completed":
        raise SystemExit("benchmark run %s/%s ended %s: %s" % (workload, executor, snap.status, snap.reason))
    sampler_cpu = getattr(session.gil, "cpu_s", 0.0) / max(snap.run_elapsed_s, 1e-9) * 100.0
    return snap.mean_throughput_per_s, sampler_cpu


def _label(scenario: Tuple[str, str, Optional[int], Dict[str, str]]) -> str:
    workload, executor, workers, _ = scenario
    return "%s %s%s" % (workload, executor, " x%d" % workers if workers else "")


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, float]]:
    parser = argparse.ArgumentParser(prog="benchmarks.gil_overhead")
    parser.add_argument("--rates", default="", help="extra sampler arms, e.g. 25/100,50/100")
    parser.add_argument("--scenarios", default="", help="subset, e.g. 'cpu thread,cpu process'")
    args = parser.parse_args([] if argv is None else argv)
    seconds = float(os.environ.get("EXECSCOPE_BENCH_S", "4"))
    reps = int(os.environ.get("EXECSCOPE_BENCH_REPS", "3"))
    arms: List[Tuple[str, Optional[Callable[[Any], Any]], bool]] = [
        ("bare", None, False),
        ("probe", None, True),
        ("sampled", _factory(gil.STACKS_HZ, gil.GIL_HZ), True),
    ]
    for arm in filter(None, args.rates.split(",")):
        parts = arm.split("/")
        round_s = float(parts[2]) if len(parts) > 2 else gil.STACKS_ROUND_S
        most = int(parts[3]) if len(parts) > 3 else None
        arms.append((arm, _factory(int(parts[0]), int(parts[1]), round_s, most), True))
    wanted = [w.strip() for w in args.scenarios.split(",") if w.strip()]
    scenarios = [s for s in SCENARIOS if not wanted or any(_label(s).startswith(w) for w in wanted)]
    print("GIL sampling overhead: %d rotated repetitions of %.0f s runs, %s CPUs, load %s; "
          "defaults: stacks %d Hz in %.1f s rounds, GIL holder %d Hz"
          % (reps, seconds, os.cpu_count(), " ".join("%.1f" % x for x in os.getloadavg()),
             gil.STACKS_HZ, gil.STACKS_ROUND_S, gil.GIL_HZ), flush=True)
    results: Dict[str, Dict[str, List[Tuple[float, float]]]] = {}
    for rep in range(reps):
        for scenario in scenarios:
            by_arm = results.setdefault(_label(scenario), {})
            shift = (rep + scenarios.index(scenario)) % len(arms)
            for name, factory, probe in arms[shift:] + arms[:shift]:
                by_arm.setdefault(name, []).append(run_once(scenario, seconds, factory, probe))
    names = [a[0] for a in arms]
    print("%-16s%10s" % ("scenario", "bare/s") + "".join("%24s" % n for n in names[1:])
          + "\n%26s(median of paired ratios bare/arm [range]; py-spy CPU in %% of a core;"
            " /probe: the ratio against the probe-only arm, i.e. the sampler's own cost)" % "")
    summary: Dict[str, Dict[str, float]] = {}
    for label, by_arm in results.items():
        bare = [tput for tput, _ in by_arm["bare"]]
        probe = [tput for tput, _ in by_arm["probe"]]
        cells, below = [], []
        for name in names[1:]:
            ratios = [b / max(tput, 1e-9) for b, (tput, _) in zip(bare, by_arm[name])]
            cpu = statistics.median(c for _, c in by_arm[name])
            ratio = statistics.median(ratios)
            summary.setdefault(label, {})[name] = ratio
            cells.append("%24s" % ("%.3f [%.2f-%.2f]" % (ratio, min(ratios), max(ratios))))
            if name == "probe":
                below.append("%24s" % "")
            else:
                own = statistics.median(p / max(tput, 1e-9) for p, (tput, _) in zip(probe, by_arm[name]))
                summary[label][name + "/probe"] = own
                below.append("%24s" % ("/probe %.3f cpu %2.0f%%" % (own, cpu)))
        print("%-16s%10.1f" % (label, statistics.median(bare)) + "".join(cells), flush=True)
        print("%26s" % "" + "".join(below), flush=True)
    print("load average after: %s" % " ".join("%.1f" % x for x in os.getloadavg()))
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
