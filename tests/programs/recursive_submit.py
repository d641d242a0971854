"""Deadlocks: every task submits a sub-task to its own pool and waits for it."""

import sys
from concurrent.futures import ThreadPoolExecutor

WORKERS = int(sys.argv[1]) if len(sys.argv) > 1 else 2


def leaf(i):
    return i


def parent(pool, i):
    return pool.submit(leaf, i).result()  # waits on its own pool: starves once all workers wait


def main():
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    futures = [pool.submit(parent, pool, i) for i in range(WORKERS * 2)]
    print("submitted", len(futures), flush=True)
    print(sum(f.result() for f in futures))


if __name__ == "__main__":
    main()
