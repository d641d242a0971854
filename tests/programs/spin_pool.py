"""Keeps a thread pool busy with pure-Python loops until it is killed.

    python spin_pool.py [WORKERS]

Prints "ready" once every worker is computing: the threads then take turns
holding the GIL, which is what a GIL sampler should show.
"""

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

WORKERS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
started = threading.Barrier(WORKERS + 1)


def spin(i):
    started.wait()
    n = 0
    while True:
        n += i


def main():
    pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="spin")
    for i in range(WORKERS):
        pool.submit(spin, i)
    started.wait()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
