"""Several executors at once, made in different ways.

asyncio's default executor (run_in_executor(None) and to_thread), a spawn
process pool with its own initializer whose task raises, a second (fork)
process pool alive at the same time, and a child Python process
(subprocess) that makes a thread pool of its own.
"""

import asyncio
import multiprocessing
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

_READY = []


def init(tag):
    _READY.append(tag)


def square(x):
    if not _READY:
        raise RuntimeError("initializer did not run")
    if x < 0:
        raise ValueError("negative: %d" % x)
    return x * x


def blocking(x):
    time.sleep(0.01)
    return x


async def use_asyncio():
    loop = asyncio.get_running_loop()
    a = await asyncio.gather(*(loop.run_in_executor(None, blocking, i) for i in range(10)))
    b = await asyncio.gather(*(asyncio.to_thread(blocking, i) for i in range(5)))
    return sum(a) + sum(b)


CHILD = """
from concurrent.futures import ThreadPoolExecutor
with ThreadPoolExecutor(2) as pool:
    print("child", sum(pool.map(abs, range(-20, 0))))
"""


def main():
    print("asyncio", asyncio.run(use_asyncio()), flush=True)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context, initializer=init, initargs=("ok",)) as pool:
        print("squares", sum(pool.map(square, range(30), chunksize=4)), flush=True)
        try:
            pool.submit(square, -1).result()
        except ValueError as exc:  # the task's own exception type comes back
            print("caught", exc, flush=True)
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as second:
            print("second", sum(second.map(abs, range(-5, 0))), flush=True)
    subprocess.run([sys.executable, "-c", CHILD], check=True)


if __name__ == "__main__":
    main()
