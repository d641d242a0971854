"""Command-line words for programs execscope did not write.

    execscope run [--headless] [--json PATH] [--timeout S] -- python prog.py ARGS...
    execscope run [...] -- python -m module ARGS...
    execscope attach PID [--headless] [--json PATH] [--duration S] [--timeout S]

``run --`` starts the program instrumented (``program.py``); ``attach`` watches
a running Python process from outside (``attach.py``).  In program mode the
program owns stdout: headless progress lines and the summary go to stderr.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable, List, Optional, Sequence, Tuple

from .errors import UsageError
from .model import RunConfig

# Options of `run` that describe a built-in workload's executor; a program picks its own.
WORKLOAD_ONLY = ("--executor", "--start-method", "--workers", "--tasks", "--duration", "--param", "--python")


def split_program(argv: Sequence[str]) -> Tuple[List[str], Optional[List[str]]]:
    """``run [options] -- program...`` -> (the options, the program's argv);
    any other command line comes back whole, with None."""
    argv = list(argv)
    if argv[:1] == ["run"] and "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1:]
    return argv, None


def program_config(args: argparse.Namespace, program: List[str], options: Sequence[str]) -> RunConfig:
    if args.workload is not None:
        raise UsageError("run: give a workload or a program after --, not both")
    if not program:
        raise UsageError("run --: give the program to run, e.g. execscope run -- python prog.py")
    for token in options:
        name = token.split("=", 1)[0]
        if name in WORKLOAD_ONLY:
            raise UsageError("%s applies to built-in workloads: a program creates its own executors" % name)
    return RunConfig(workload=" ".join(program), argv=tuple(program), timeout=args.timeout,
                     on_deadlock=args.on_deadlock, gil_sampling=not args.no_gil)


def add_attach(sub: Any, int_type: Callable[[str], int], float_type: Callable[[str], float]) -> None:
    p = sub.add_parser("attach", help="watch a running Python process from outside (no instrumentation)")
    p.add_argument("pid", type=int_type, metavar="PID")
    p.add_argument("--headless", action="store_true")
    p.add_argument("--json", default=None, metavar="PATH")
    p.add_argument("--duration", type=float_type, default=None,
                   help="stop watching after S seconds (default: until the process exits or Ctrl-C)")
    p.add_argument("--timeout", type=float_type, default=None)
    p.add_argument("--no-gil", action="store_true", help="do not sample the GIL with py-spy")
    p.add_argument("--refresh", type=float_type, default=10.0, help="snapshots per second")


def attach_config(args: argparse.Namespace) -> RunConfig:
    return RunConfig(workload="pid %d" % args.pid, attach_pid=args.pid, duration=args.duration,
                     timeout=args.timeout, gil_sampling=not args.no_gil, on_deadlock="wait")
