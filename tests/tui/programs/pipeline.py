"""A small two-stage pipeline: a thread pool waits on slow "downloads" while a
process pool crunches what came back.  Prints a line per batch.

    python pipeline.py [SECONDS]

Runs for about SECONDS (default 6), then exits 0.  Used to show program mode
with two executors alive at once.
"""

import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor


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
        while time.monotonic() < end:
            pages = list(fetchers.map(download, range(batch * 16, batch * 16 + 16)))
            results = list(crunchers.map(crunch, pages))
            batch += 1
            print("batch %d: %d pages, checksum %d" % (batch, len(pages), sum(results) % 100003), flush=True)
    print("done: %d batches" % batch, flush=True)


if __name__ == "__main__":
    main()
