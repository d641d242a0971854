"""Per-task cost, measured by the program itself: rounds of no-op tasks.

    python rate_pools.py SECONDS

Prints "ready", then one line a round: "round T THREAD_US PROCESS_US", the
wall time per task of 2000 no-op tasks submitted to a ThreadPoolExecutor(2)
and waited for, and of 200 to a ProcessPoolExecutor(2).
"""

import concurrent.futures as cf
import sys
import time


def noop(x):
    return x


def per_task(executor, n):
    t0 = time.perf_counter()
    futures = [executor.submit(noop, i) for i in range(n)]
    for f in futures:
        f.result()
    return (time.perf_counter() - t0) / n * 1e6


def main():
    end = time.monotonic() + float(sys.argv[1])
    with cf.ThreadPoolExecutor(2) as threads, cf.ProcessPoolExecutor(2) as processes:
        per_task(processes, 20)
        print("ready", flush=True)
        while time.monotonic() < end:
            print("round %.3f %.2f %.2f" % (time.monotonic(), per_task(threads, 2000), per_task(processes, 200)),
                  flush=True)


if __name__ == "__main__":
    main()
