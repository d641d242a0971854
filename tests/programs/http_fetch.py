"""Fetches a URL many times from a thread pool: I/O-bound, the GIL barely used.

    python http_fetch.py URL COUNT [WORKERS]
"""

import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return len(response.read())


def main():
    url, count = sys.argv[1], int(sys.argv[2])
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    with ThreadPoolExecutor(max_workers=workers) as pool:
        sizes = list(pool.map(fetch, [url] * count))
    print("fetched", len(sizes), "bytes", sum(sizes))


if __name__ == "__main__":
    main()
