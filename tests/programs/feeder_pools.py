"""A thread pool feeding a process pool, unmodified: the target of attach tests.

    python feeder_pools.py SECONDS [OUT]

Prints "ready" once both pools run, then keeps ~100 tasks a second flowing:
each thread-pool task submits a CPU-bound piece to the process pool and
waits for it (about 20 000 loop iterations; FEEDER_WORK=N sets another size).  At the end it prints the checksum of every result (the same
with or without execscope watching) and writes it to OUT when given.
"""

import concurrent.futures as cf
import os
import sys
import time


def crunch(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def feed(processes, n):
    return processes.submit(crunch, n).result()


def main():
    seconds = float(sys.argv[1])
    out = sys.argv[2] if len(sys.argv) > 2 else None
    end = time.monotonic() + seconds
    work = int(os.environ.get("FEEDER_WORK", "20000"))
    results = []
    with cf.ProcessPoolExecutor(2) as processes, cf.ThreadPoolExecutor(4, thread_name_prefix="feed") as threads:
        threads.submit(feed, processes, 10).result()  # both pools are up
        print("ready", flush=True)
        i = 0
        while time.monotonic() < end:
            batch = [threads.submit(feed, processes, work + (i + k) % 50) for k in range(10)]
            results.extend(f.result() for f in batch)
            i += 10
            time.sleep(0.05)
    checksum = sum(results)
    print("done %d %d" % (len(results), checksum), flush=True)
    if out:
        with open(out, "w") as fh:
            fh.write("%d %d\n" % (len(results), checksum))


if __name__ == "__main__":
    main()
