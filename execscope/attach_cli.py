"""``execscope attach PID``: watch a running Python process from outside.

    execscope attach PID [--headless] [--json PATH] [--duration S] [--timeout S]

The watching itself is in ``attach.py``; a run on the terminal opens the TUI,
``--headless`` (or no terminal) prints progress lines and a summary to stderr.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from .model import RunConfig


def add_attach(sub: Any, int_type: Callable[[str], int], float_type: Callable[[str], float]) -> None:
    p = sub.add_parser("attach", help="watch a running Python process (instrumented on CPython 3.14+, else from outside)")
    p.add_argument("pid", type=int_type, metavar="PID")
    p.add_argument("--headless", action="store_true")
    p.add_argument("--json", default=None, metavar="PATH")
    p.add_argument("--duration", type=float_type, default=None,
                   help="stop watching after S seconds (default: until the process exits or Ctrl-C)")
    p.add_argument("--timeout", type=float_type, default=None)
    p.add_argument("--no-gil", action="store_true", help="do not sample the GIL with py-spy")
    p.add_argument("--stacks-only", action="store_true",
                   help="do not load the instrumentation into the process (CPython 3.14+ only): read it from outside")
    p.add_argument("--refresh", type=float_type, default=10.0, help="snapshots per second")


def attach_config(args: argparse.Namespace) -> RunConfig:
    return RunConfig(workload="pid %d" % args.pid, attach_pid=args.pid, duration=args.duration,
                     timeout=args.timeout, gil_sampling=not args.no_gil, on_deadlock="wait",
                     instrument=not args.stacks_only)
