"""One pool kept alive, running batches of tasks on request (observer.py's section 1).

    python benchmarks/_batch_pool.py KIND METHOD TASK WATCHED

Makes a pool (thread, process, pool or loky; WATCHED=1: with execscope's
worker initializer, a ``Tracker`` around it and the runner's 10 Hz tick in a
thread; a thread pool's process runs on one CPU), runs a warm-up batch,
prints ``ready``, then for each line ``N`` on its standard input runs N
tasks and prints ``{"wall": s, "cpu": s}``: the batch's wall time and the
CPU time the process and its workers used for it (from /proc schedstat,
nanoseconds).  An empty line or end of input shuts
the pool down.  Two of these, one plain and one watched, are driven in turn
by ``observer.py``: batches a fraction of a second apart see the same
machine.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, wait

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from execscope.runner import instrument, slots, worker  # noqa: E402
from execscope.workloads.cpu import cpu_task  # noqa: E402
from execscope.workloads.noop import noop_task  # noqa: E402

CPU_SIZE = 3000
WARMUP = 200


def _cpu_s(pids) -> float:
    total = 0
    for pid in pids:
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as fh:
                    total += int(fh.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return total / 1e9


def main() -> None:
    kind, method, task, watched = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
    if kind == "thread" and hasattr(os, "sched_setaffinity"):
        # Under the GIL one thread runs at a time: both pools of a pair run on
        # the same one CPU, so the ratio is the instrumentation's work, not
        # where the OS put each pool's threads (unpinned, two plain pools of
        # no-ops differed by up to 19%, batch for batch).
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    fn = noop_task if task == "noop" else cpu_task
    kwargs = {} if task == "noop" else {"size": CPU_SIZE}
    run_dir = tempfile.mkdtemp(prefix="execscope-bench-")
    table = None
    if watched and kind != "thread":
        slots.create(run_dir)
        table = slots.SlotTable(run_dir)
    init = dict(initializer=worker.init_worker, initargs=(run_dir, os.getpid(), method)) if watched else {}
    if kind == "thread":
        ex = ThreadPoolExecutor(2)
    elif kind == "process":
        ex = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method), **init)
    elif kind == "pool":
        if watched:
            from execscope.runner import mp_pool
            ex = mp_pool.build({"start_method": method, "workers": 2}, run_dir)
        else:
            ex = multiprocessing.get_context(method).Pool(2)
    else:
        if watched:
            from execscope.runner import loky_pool
            ex = loky_pool.build({"workers": 2}, run_dir)
        else:
            from loky import get_reusable_executor
            ex = get_reusable_executor(max_workers=2, reuse=False)
    stop = threading.Event()
    tracker = None
    if watched:
        tracker = instrument.Tracker(ex, kind, table, deliver_results=False)
        driver = tracker
        if hasattr(ex, "tracker"):
            ex.tracker = tracker
            driver = ex

        def tick_loop() -> None:  # what the runner does ten times a second
            sink = open(os.devnull, "w")
            while not stop.wait(0.1):
                state = tracker.poll()
                state["totals"] = tracker.totals()
                state["own_cost"] = tracker.own_cost()
                sink.write(json.dumps(state, default=str))

        threading.Thread(target=tick_loop, daemon=True).start()
    else:
        driver = ex

    def batch(n: int) -> None:
        if kind == "pool" and not watched:
            results = [ex.apply_async(fn, (i,), kwargs) for i in range(n)]
            for r in results:
                r.wait()
            return
        if driver is tracker and tracker is not None:  # as the runner submits a workload's tasks
            handles: list = []
            tracker.submit_all(fn, range(n), kwargs, futures=handles)
        else:
            handles = [driver.submit(fn, i, **kwargs) for i in range(n)]
        if kind == "pool":
            for r in handles:
                r.wait()
        else:
            wait(handles)

    def pids():
        if kind == "pool":
            pool = ex.pool if watched else ex
            return [os.getpid()] + [p.pid for p in pool._pool]
        return [os.getpid()] + list(getattr(ex, "_processes", None) or ())

    batch(WARMUP)
    print("ready", flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            break
        procs = pids()
        c0, t0 = _cpu_s(procs), time.monotonic()
        batch(int(line))
        wall = time.monotonic() - t0
        print(json.dumps({"wall": wall, "cpu": _cpu_s(procs) - c0}), flush=True)
    stop.set()
    if kind == "pool":
        if watched:
            ex.shutdown()
        else:
            ex.close()
            ex.join()
    else:
        ex.shutdown()


if __name__ == "__main__":
    main()
