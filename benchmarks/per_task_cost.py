"""What one task costs under each executor: noop, 1 ms of compute, and an 8 MB argument.

Every executor execscope can run here (serial, thread, process, pool, loky
and dask when installed) runs the same three workloads through the real runner, two
workers each, one after the other; the figure is the run's wall time per
task (the whole run, pool start-up included, as a user pays it) and the
per-task IPC (pickling and pipe both ways) the instrumentation measured.
Dask's per-task figure includes its scheduler's round trips and its local
cluster's start-up; it does not time pickling or its TCP transfers per task,
so its IPC column reads n/a (its results stay on the workers: the runner
does not gather them).
"""

from __future__ import annotations

import time

from execscope.errors import UsageError
from execscope.families import KINDS, missing_requirement
from execscope.model import RunConfig
from execscope.report import run_json
from execscope.session import Session

CASES = (
    ("noop", "noop", 2000, {}),
    ("1 ms compute", __file__ + ":busy_1ms", 400, {}),
    ("8 MB argument", "pickle_heavy", 20, {"mb": "8"}),
)


def busy_1ms(i: int) -> int:
    """Spin on the CPU for one millisecond."""
    end = time.perf_counter() + 0.001
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def _fmt(seconds: float) -> str:
    if seconds >= 1e-3:
        return "%.2f ms" % (seconds * 1e3)
    return "%.1f µs" % (seconds * 1e6)


def main() -> None:
    kinds = [k for k in KINDS if missing_requirement(k) is None]
    print("per task: wall time of the run / tasks, start-up included (2 workers; serial: 1); "
          "ipc: pickling + pipe per task")
    print("%-14s %-8s %8s %12s %12s" % ("case", "executor", "tasks", "per task", "ipc/task"))
    for label, spec, tasks, params in CASES:
        for kind in kinds:
            config = RunConfig(workload=spec, executor=kind, workers=None if kind == "serial" else 2,
                               tasks=tasks, params=params, gil_sampling=False,
                               start_method="fork" if kind in ("process", "pool") else None, timeout=300)
            try:
                session = Session(config)
            except UsageError as exc:  # e.g. interpreter pools on a CPython older than 3.14
                print("%-14s %-8s %8s %12s   %s" % (label, kind, "-", "n/a", exc), flush=True)
                continue
            session.run(timeout=330)
            out = run_json(session.record())
            done = out["tasks"]["completed"]
            if out["status"] != "completed" or not done:
                print("%-14s %-8s %8s %12s %12s" % (label, kind, done, "n/a", out["status"]))
                continue
            wall = out["wall_s"]
            b = out["breakdown_s"]
            parts = [b.get(k) for k in ("serialize", "transfer", "deserialize", "result_serialize",
                                        "result_transfer", "result_deserialize")]
            ipc = "n/a" if None in parts else _fmt(sum(parts))  # a phase the executor does not time
            print("%-14s %-8s %8d %12s %12s" % (label, kind, done, _fmt(wall / done), ipc), flush=True)


if __name__ == "__main__":
    main()
