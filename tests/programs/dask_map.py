"""A Dask distributed program: a local cluster of two worker processes maps N tasks.

    python dask_map.py N

Prints how many results came back and their sum, then closes the client and
the cluster.
"""

import logging
import sys

from distributed import Client, LocalCluster


def square(i):
    total = 0
    for k in range(2000):
        total += k % 7
    return i * i + total * 0


def main(n):
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster)
    futures = client.map(square, range(n))
    results = client.gather(futures)
    print(len(results), "results, sum", sum(results))
    client.close()
    cluster.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
