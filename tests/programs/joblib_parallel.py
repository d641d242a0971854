"""A joblib program: Parallel(n_jobs=2) with its default (loky) backend over N items.

    python joblib_parallel.py N

batch_size=1 makes each call its own task (joblib would otherwise batch
them as it sees fit).  Prints how many results came back and their sum.
"""

import sys

from joblib import Parallel, delayed


def cube(i):
    total = 0
    for k in range(3000):
        total += k % 3
    return i ** 3 + total * 0


def main(n):
    results = Parallel(n_jobs=2, batch_size=1)(delayed(cube)(i) for i in range(n))
    print(len(results), "results, sum", sum(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 60))
