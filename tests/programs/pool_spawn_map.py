"""Squares numbers in a multiprocessing.Pool, one item per IPC round trip.

    python pool_spawn_map.py [ITEMS] [METHOD]

A spawn pool of two workers maps ITEMS (default 200) numbers with
chunksize=1, then prints how many results came back and their sum.
"""

import multiprocessing
import sys


def square(x):
    total = 0
    for _ in range(200):
        total += x * x
    return total // 200


def main():
    items = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    method = sys.argv[2] if len(sys.argv) > 2 else "spawn"
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(processes=2) as pool:
        results = pool.map(square, range(items), chunksize=1)
    print(len(results), sum(results))


if __name__ == "__main__":
    main()
