"""Soak: a long live session, a run restarted every 20 s; memory must stay bounded.

Runs the same loop a TUI session does (start a run, consume ~10 snapshots a
second, stop it, start the next) for a while and reports this process's RSS
at the start and the end, and the processes left behind (must be 0).

    python -m benchmarks soak                    # 30 minutes
    EXECSCOPE_SOAK_MINUTES=2 python -m benchmarks soak
"""

from __future__ import annotations

import gc
import os
import time
from typing import Callable, Dict, Optional

import psutil

from execscope.model import RunConfig
from execscope.session import Session

# A rotation of runs that exercise every kind of state the session keeps.
ROTATION = (
    RunConfig("cpu", executor="thread", workers=4, duration=3600, params={"size": "20000"}),
    RunConfig("pickle_heavy", executor="process", start_method="fork", workers=2, duration=3600,
              params={"mb": "1"}),
    RunConfig("io", executor="thread", workers=8, duration=3600, params={"latency_ms": "5"}),
    RunConfig("recursive_submit", executor="thread", workers=2, tasks=8, on_deadlock="wait"),
    RunConfig("chunksize", executor="process", start_method="spawn", workers=2, duration=3600),
)


def soak(minutes: float, restart_s: float = 20.0, gil: bool = False,
         progress: Optional[Callable[[str], None]] = None) -> Dict[str, float]:
    me = psutil.Process()
    factory = None
    if gil:
        from execscope.sampling import gil_factory

        factory = gil_factory(ROTATION[0])
    seen = {"snapshots": 0}

    def listener(snap) -> None:  # what a view does: read every field it shows
        seen["snapshots"] += 1
        _ = (snap.counts, snap.workers, snap.breakdown, snap.cpu.per_core, snap.alerts, snap.gil)

    gc.collect()
    rss_start = me.memory_info().rss
    end = time.monotonic() + minutes * 60
    runs = 0
    rss_after_first = None
    while time.monotonic() < end:
        config = ROTATION[runs % len(ROTATION)].with_(gil_sampling=gil)
        session = Session(config, listener=listener, gil_sampler_factory=factory)
        session.start()
        session.wait(timeout=min(restart_s, max(0.0, end - time.monotonic())))
        session.stop()
        session.close()
        runs += 1
        if runs == len(ROTATION):
            gc.collect()
            rss_after_first = me.memory_info().rss
        if progress:
            progress("run %d (%s) rss %.1f MB" % (runs, config.workload, me.memory_info().rss / 2**20))
    gc.collect()
    rss_end = me.memory_info().rss
    leftovers = [p.pid for p in me.children(recursive=True)]
    return {
        "minutes": minutes,
        "runs": runs,
        "snapshots": seen["snapshots"],
        "rss_start_mb": rss_start / 2**20,
        "rss_after_first_rotation_mb": (rss_after_first or rss_end) / 2**20,
        "rss_end_mb": rss_end / 2**20,
        "growth_mb": (rss_end - rss_start) / 2**20,
        "growth_after_warmup_mb": (rss_end - (rss_after_first or rss_end)) / 2**20,
        "leftover_processes": len(leftovers),
    }


def main() -> None:
    minutes = float(os.environ.get("EXECSCOPE_SOAK_MINUTES", "30"))
    restart = float(os.environ.get("EXECSCOPE_SOAK_RESTART_S", "20"))
    result = soak(minutes, restart, gil=os.environ.get("EXECSCOPE_SOAK_GIL", "1") == "1",
                  progress=lambda line: print("  " + line, flush=True))
    for key, value in result.items():
        print("%-28s %s" % (key, round(value, 2) if isinstance(value, float) else value))
    print("target: growth <= 20 MB, leftovers == 0:",
          "PASS" if result["growth_mb"] <= 20 and result["leftover_processes"] == 0 else "FAIL")


if __name__ == "__main__":
    main()
