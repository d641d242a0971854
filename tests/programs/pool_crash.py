"""A Pool whose worker is killed mid-task: the program waits with a timeout.

    python pool_crash.py

Four tasks go to a two-worker Pool; task 1 kills its own worker with
SIGKILL.  multiprocessing.Pool starts a replacement and never completes that
task, so the program waits for it at most 5 s, then says so and exits 3.
"""

import multiprocessing
import os
import signal
import sys
import time


def task(i):
    time.sleep(0.2)
    if i == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return i


def main():
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pending = [pool.apply_async(task, (i,)) for i in range(4)]
        try:
            print([p.get(timeout=5) for p in pending])
        except multiprocessing.TimeoutError:
            print("task never completed")
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
