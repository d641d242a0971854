"""An InterpreterPoolExecutor (3.14+) running functions of this __main__ module.

Prints the sum of 16 squares and the error of the one task that raises.
"""

from concurrent.futures import InterpreterPoolExecutor


def square(n):
    x = 0
    for _ in range(20000):
        x += 1
    return n * n + (x - 20000)


def unlucky(n):
    raise ValueError("%d is unlucky" % n)


if __name__ == "__main__":
    with InterpreterPoolExecutor(max_workers=2) as pool:
        print("sum", sum(pool.map(square, range(16))), flush=True)
        try:
            pool.submit(unlucky, 13).result()
        except ValueError as exc:
            print("caught", exc, flush=True)
