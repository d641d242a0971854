"""What the TUI costs: CPU used by the execscope process while it shows a live run.

The same run is started twice in a pseudo-terminal, once in the TUI and once
headless; for each we read the execscope process's own CPU time (all its
threads: Textual, the session's ticker and samplers; not the runner or the
workers) over a window after start-up, as a share of one core.  The TUI's
rendering cost is the difference; the target is at most 5% of one core at the
default refresh.

    python -m benchmarks.tui_cpu                        # io under 8 threads, 10 Hz, 120x36
    python -m benchmarks.tui_cpu --refresh 4 --size 80x24 -- cpu --executor process --workers 1

Prints one line per mode and the difference.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import threading
import time
from typing import List, Tuple

import psutil

DEFAULT_RUN = ["io", "--executor", "thread", "--workers", "8", "--param", "latency_ms=20"]


def _drain(fd: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready and not os.read(fd, 65536):
                return
        except OSError:
            return


def measure(run_args: List[str], seconds: float, warmup: float, size: Tuple[int, int],
            refresh: float, tui: bool) -> Tuple[float, float]:
    """(own CPU % of one core, wall seconds measured) of one execscope process."""
    cols, rows = size
    args = [sys.executable, "-m", "execscope", "run", *run_args,
            "--duration", str(seconds + warmup + 10), "--refresh", str(refresh), "--no-gil"]
    if not tui:
        args.append("--headless")
    env = dict(os.environ, TERM=os.environ.get("TERM", "xterm-256color"))
    env.pop("PYTHONPATH", None)
    pid, fd = pty.fork()
    if pid == 0:  # child: becomes execscope on the pty
        try:
            os.execvpe(args[0], args, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    stop = threading.Event()
    reader = threading.Thread(target=_drain, args=(fd, stop), daemon=True)
    reader.start()
    proc = psutil.Process(pid)
    try:
        time.sleep(warmup)
        c0, t0 = sum(proc.cpu_times()[:2]), time.monotonic()
        time.sleep(seconds)
        c1, t1 = sum(proc.cpu_times()[:2]), time.monotonic()
    finally:
        if tui:
            os.write(fd, b"q")
        else:
            os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        stop.set()
        reader.join(2)
        os.close(fd)
    return 100.0 * (c1 - c0) / (t1 - t0), t1 - t0


def main(argv: List[str] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    run_args = DEFAULT_RUN
    if "--" in argv:
        i = argv.index("--")
        argv, run_args = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(prog="python -m benchmarks.tui_cpu", description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=15.0, help="measuring window")
    p.add_argument("--warmup", type=float, default=4.0, help="start-up excluded from the window")
    p.add_argument("--refresh", type=float, default=10.0, help="snapshots per second (the default is 10)")
    p.add_argument("--size", default="120x36", help="terminal COLSxROWS")
    opts = p.parse_args(argv)
    cols, rows = (int(v) for v in opts.size.lower().split("x"))
    print("run: execscope run %s  (%gs window, refresh %g Hz, %dx%d)"
          % (" ".join(run_args), opts.seconds, opts.refresh, cols, rows))
    results = {}
    for mode in ("headless", "tui"):
        share, wall = measure(run_args, opts.seconds, opts.warmup, (cols, rows), opts.refresh, mode == "tui")
        results[mode] = share
        print("%-8s execscope process: %5.1f%% of one core over %.1fs" % (mode, share, wall))
    cost = results["tui"] - results["headless"]
    print("TUI rendering cost: %.1f%% of one core (target <= 5%%): %s"
          % (cost, "ok" if cost <= 5.0 else "OVER"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
