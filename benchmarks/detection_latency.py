"""How fast the two headline detectors fire on real runs: starvation and pickle bottleneck.

Each is run ``EXECSCOPE_BENCH_RUNS`` times (default 10) through a real session,
with a listener noting the first snapshot that shows the alert:

- starvation: ``recursive_submit`` on 2 threads (it deadlocks).  Latency is
  measured from the moment the last worker blocked, which the workload records
  itself (its latest ``blocked`` mark of a task that never unblocked), to the
  first snapshot showing the alert ("fired"), and to the alert's own ``t_s``
  (when it says the condition began: within a tick of the mark, either side).
  The requirement is to fire within 1 s.
- pickle bottleneck: ``pickle_heavy`` (8 MiB of floats per task) on 2 worker
  processes.  Latency is measured from the run's launch (t = 0) and from the
  pool's creation; the requirement is within 2 s of the start.

    python -m benchmarks detection_latency
    EXECSCOPE_BENCH_RUNS=3 python -m benchmarks detection_latency
"""

from __future__ import annotations

import os
import statistics
import sys
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from execscope.model import RunConfig  # noqa: E402
from execscope.report import run_json  # noqa: E402
from execscope.session import Session  # noqa: E402


def _run(config: RunConfig, kind: str) -> Tuple[Dict[str, Any], Optional[float]]:
    first: List[float] = []

    def listener(snap: Any) -> None:
        if not first and any(a.kind == kind for a in snap.active_alerts):
            first.append(snap.t_s)

    session = Session(config, listener=listener)
    session.run(timeout=120)
    return run_json(session.record()), (first[0] if first else None)


def starvation_once() -> Dict[str, Optional[float]]:
    config = RunConfig(workload="recursive_submit", executor="thread", workers=2, tasks=8,
                       gil_sampling=False, deadlock_grace_s=0.3)
    out, fired = _run(config, "starvation")
    unblocked = {m["data"].get("task") for m in out["marks"] if m["name"] == "unblocked"}
    blocked = [m["t_s"] for m in out["marks"] if m["name"] == "blocked" and m["data"].get("task") not in unblocked]
    alert = next((a for a in out["alerts"] if a["kind"] == "starvation"), None)
    if not blocked or alert is None or fired is None:
        return {"fired": None, "since": None}
    last = max(blocked)
    return {"fired": fired - last, "since": alert["t_s"] - last}


def pickle_once() -> Dict[str, Optional[float]]:
    config = RunConfig(workload="pickle_heavy", executor="process", workers=2, tasks=20, gil_sampling=False)
    out, fired = _run(config, "pickle_bottleneck")
    if fired is None:
        return {"from_launch": None, "from_pool": None}
    return {"from_launch": fired, "from_pool": fired - (out["startup_s"] or 0.0)}


def _summary(values: List[Optional[float]]) -> str:
    got = [v for v in values if v is not None]
    missed = len(values) - len(got)
    if not got:
        return "never fired"
    text = "median %6.3fs  max %6.3fs" % (statistics.median(got), max(got))
    return text + ("  (missed %d of %d)" % (missed, len(values)) if missed else "")


def main() -> None:
    runs = int(os.environ.get("EXECSCOPE_BENCH_RUNS", "10"))
    print("%d runs each, cpu count %s" % (runs, os.cpu_count()), flush=True)
    starv = [starvation_once() for _ in range(runs)]
    print("starvation         fired after the last worker blocked: %s" % _summary([s["fired"] for s in starv]))
    print("                   alert t_s minus that moment:         %s" % _summary([s["since"] for s in starv]),
          flush=True)
    pick = [pickle_once() for _ in range(runs)]
    print("pickle_bottleneck  fired after launch:                  %s"
          % _summary([p["from_launch"] for p in pick]))
    print("                   fired after pool creation:           %s" % _summary([p["from_pool"] for p in pick]),
          flush=True)


if __name__ == "__main__":
    main()
