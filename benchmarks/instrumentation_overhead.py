"""Per-task cost of execscope's instrumentation: instrumented vs plain executor.

For each executor kind and task, a fresh interpreter runs N tasks through a
plain ``ThreadPoolExecutor`` / ``ProcessPoolExecutor`` (submit all, wait for
all), and another runs the same tasks through execscope's ``Tracker`` with the
runner's 10 Hz poll loop.  Plain and instrumented runs alternate, several
times, and the ratio of the medians is reported (1.00 = free), with the
ratio of the fastest runs beside it.

    python -m benchmarks instrumentation_overhead            # 20 000 tasks
    EXECSCOPE_BENCH_TASKS=2000 python -m benchmarks instrumentation_overhead
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_CHILD = r"""
import json, os, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor, ProcessPoolExecutor, wait
import multiprocessing
sys.path.insert(0, ROOT)
from execscope.runner import instrument, slots, worker
from execscope.workloads.cpu import cpu_task
from execscope.workloads.noop import noop_task

kind, task, mode, n, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
fn = noop_task if task == "noop" else cpu_task
kwargs = {} if task == "noop" else {"size": 300}
run_dir = tempfile.mkdtemp()
if kind == "thread":
    ex = ThreadPoolExecutor(workers)
else:
    ctx = multiprocessing.get_context("fork")
    if mode == "plain":
        ex = ProcessPoolExecutor(workers, mp_context=ctx)
    else:
        slots.create(run_dir)
        ex = ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker.init_worker,
                                 initargs=(run_dir, os.getpid(), "fork"))
# warm the pool up: start-up is not per-task overhead
list(ex.map(fn, range(workers * 2)))
t0 = time.perf_counter()
if mode == "plain":
    futures = [ex.submit(fn, i, **kwargs) for i in range(n)]
    wait(futures)
else:
    table = slots.SlotTable(run_dir) if kind == "process" else None
    tracker = instrument.Tracker(ex, kind, table, deliver_results=False)
    for i in range(n):
        tracker.submit(fn, i, **kwargs)
    tracker.close_submission()
    sink = open(os.devnull, "w")
    while not tracker.all_done.wait(0.1):  # as the runner's tick loop does
        state = tracker.poll()
        state["totals"] = tracker.totals()
        sink.write(json.dumps(state, default=str))
        tracker.check_done()
    tracker.totals()
elapsed = time.perf_counter() - t0
ex.shutdown()
print(json.dumps({"elapsed": elapsed}))
""".replace("ROOT", repr(ROOT))


def measure(kind: str, task: str, mode: str, n: int, workers: int) -> float:
    out = subprocess.run([sys.executable, "-c", _CHILD, kind, task, mode, str(n), str(workers)],
                         capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])["elapsed"]


def main() -> None:
    n = int(os.environ.get("EXECSCOPE_BENCH_TASKS", "20000"))
    reps = int(os.environ.get("EXECSCOPE_BENCH_REPS", "5"))
    workers = int(os.environ.get("EXECSCOPE_BENCH_WORKERS", "2"))
    print("%d tasks, %d workers, %d alternating repetitions, cpu count %s"
          % (n, workers, reps, os.cpu_count()))
    print("%-8s %-5s %12s %12s %7s %7s %14s" % ("executor", "task", "plain", "instrumented", "ratio", "best",
                                                "extra/task"))
    for kind in ("thread", "process"):
        for task in ("noop", "cpu"):
            plain, instr = [], []
            for _ in range(reps):
                plain.append(measure(kind, task, "plain", n, workers))
                instr.append(measure(kind, task, "instrumented", n, workers))
            p, i = statistics.median(plain), statistics.median(instr)
            # ratio: of the medians; best: of the fastest runs (noise only adds
            # time, and tiny thread-pool tasks spread wide: on 2 CPUs the same
            # plain pool ran 20 000 no-ops at 7 to 19 µs a task, run to run,
            # depending on how its threads happened to hand the GIL around)
            print("%-8s %-5s %11.3fs %11.3fs %7.3f %7.3f %12.1fµs"
                  % (kind, task, p, i, i / p, min(instr) / min(plain), (i - p) / n * 1e6), flush=True)


if __name__ == "__main__":
    main()
