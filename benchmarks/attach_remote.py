"""``execscope attach`` on CPython 3.14+: latency to the first instrumented task, and per-task cost.

The target (tests/programs/rate_pools.py) times its own rounds of no-op
tasks (2000 to a ThreadPoolExecutor(2), 200 to a ProcessPoolExecutor(2)),
before, during and after an attach; the per-task figure is its wall time
per task, so the difference is what the injected instrumentation costs a
task (no-op tasks: the worst case, all overhead).  Latency: from the helper
that calls ``sys.remote_exec`` being started to the agent's hello, and to
the first task submitted through the instrumentation (both clocks are the
machine's CLOCK_MONOTONIC).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
from typing import List, Optional, Tuple

from execscope.interpreters import cached_python
from execscope.model import RunConfig
from execscope.session import Session

PROGRAM = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "programs",
                       "rate_pools.py")
PHASE_S = 4.0


def _rounds(proc: subprocess.Popen, out: List[Tuple[float, float, float]]) -> None:
    for line in proc.stdout:
        parts = line.split()
        if parts and parts[0] == "round":
            out.append((float(parts[1]), float(parts[2]), float(parts[3])))


def _median(rounds: List[Tuple[float, float, float]], t0: float, t1: float, col: int) -> Optional[float]:
    values = [r[col] for r in rounds if t0 <= r[0] < t1]
    return statistics.median(values) if values else None


def measure(python: str) -> dict:
    proc = subprocess.Popen([python, PROGRAM, str(3 * PHASE_S + 2)], stdout=subprocess.PIPE, text=True)
    rounds: List[Tuple[float, float, float]] = []
    try:
        assert proc.stdout.readline().strip() == "ready"
        reader = threading.Thread(target=_rounds, args=(proc, rounds), daemon=True)
        reader.start()
        t_before = time.monotonic()
        time.sleep(PHASE_S)
        session = Session(RunConfig(workload="pid", attach_pid=proc.pid, duration=PHASE_S, gil_sampling=False,
                                    on_deadlock="wait"))
        t_attach = time.monotonic()
        session.start()
        session.wait()
        session.close()
        t_detach = time.monotonic()
        agent = session.source.agent
        firsts = [e.get("totals", {}).get("first_submit") for e in session.state.tick.get("executors", ())]
        firsts = [f for f in firsts if f]
        time.sleep(PHASE_S)
        t_after = time.monotonic()
    finally:
        proc.wait(timeout=60)
    return {
        "mode": agent.mode(),
        "hello_s": agent.latency_s,
        "first_task_s": (min(firsts) - agent.t_inject) if firsts and agent.t_inject else None,
        "thread_us": [_median(rounds, a, b, 1) for a, b in ((t_before, t_attach), (t_attach + 1, t_detach),
                                                             (t_detach + 0.5, t_after))],
        "process_us": [_median(rounds, a, b, 2) for a, b in ((t_before, t_attach), (t_attach + 1, t_detach),
                                                              (t_detach + 0.5, t_after))],
    }


def _us(value: Optional[float]) -> str:
    return "-" if value is None else "%.1f µs" % value


def main() -> None:
    print("| target | helper → agent hello | helper → first instrumented task | no-op task, thread pool "
          "(before / attached / after) | no-op task, process pool (before / attached / after) |")
    print("|---|---|---|---|---|")
    for name in ("3.14", "3.15"):
        python, why = cached_python(name)
        if python is None:
            print("| %s | %s |" % (name, why))
            continue
        m = measure(python)
        print("| %s | %.0f ms | %s | %s | %s |" % (
            name, 1e3 * m["hello_s"], "%.0f ms" % (1e3 * m["first_task_s"]) if m["first_task_s"] else "-",
            " / ".join(map(_us, m["thread_us"])), " / ".join(map(_us, m["process_us"]))))
    print("\n(median of the target's own rounds in each phase; %gs each; the first second of the attach "
          "is left out of \"attached\")" % PHASE_S)


if __name__ == "__main__":
    main()
