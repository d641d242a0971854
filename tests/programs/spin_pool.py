"""Keeps a pool busy with pure-Python loops until it is killed.

    python spin_pool.py [WORKERS] [thread|process]

Prints "ready" once every worker is computing.  In a thread pool (the
default) the threads then take turns holding the GIL, which is what a GIL
sampler should show; in a process pool each worker holds its own.
"""

import multiprocessing
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

WORKERS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
KIND = sys.argv[2] if len(sys.argv) > 2 else "thread"
started = None


def remember(barrier):
    global started
    started = barrier


def spin(i):
    started.wait()
    n = 0
    while True:
        n += i


def main():
    if KIND == "process":
        barrier = multiprocessing.get_context("fork").Barrier(WORKERS + 1)
        pool = ProcessPoolExecutor(max_workers=WORKERS, mp_context=multiprocessing.get_context("fork"),
                                   initializer=remember, initargs=(barrier,))
    else:
        barrier = threading.Barrier(WORKERS + 1)
        remember(barrier)
        pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="spin")
    for i in range(WORKERS):
        pool.submit(spin, i)
    barrier.wait()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
