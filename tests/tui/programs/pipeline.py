"""A small two-stage pipeline: a thread pool waits on slow "downloads" while a
process pool crunches the previous batch.  Prints a line per batch.

    python pipeline.py [SECONDS]

Runs for about SECONDS (default 6), then exits 0.  Used to show program mode
with two executors busy at once.  It also has a flaw execscope points out:
the process pool forks its workers while the thread pool's threads are
alive (fork_with_threads).
"""

import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

BATCH = 16


def download(i):
    time.sleep(0.05)  # stands in for a network round trip: the GIL is released
    return i


def crunch(seed):
    total = 0
    for n in range(seed, seed + 150000):  # pure Python: needs a core of its own
        total += n * n % 7
    return total


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 6.0
    end = time.monotonic() + seconds
    batch = 0
    fetchers = ThreadPoolExecutor(max_workers=8)
    crunchers = ProcessPoolExecutor(max_workers=2)
    with fetchers, crunchers:
        crunching = []
        while time.monotonic() < end:
            pages = list(fetchers.map(download, range(batch * BATCH, (batch + 1) * BATCH)))
            if crunching:  # the previous batch was crunched while this one downloaded
                print("batch %d: %d pages, checksum %d" % (batch, len(crunching),
                                                           sum(f.result() for f in crunching) % 100003), flush=True)
            crunching = [crunchers.submit(crunch, page) for page in pages]
            batch += 1
        print("batch %d: %d pages, checksum %d" % (batch, len(crunching),
                                                   sum(f.result() for f in crunching) % 100003), flush=True)
    print("done: %d batches" % batch, flush=True)


if __name__ == "__main__":
    main()
