"""``execscope run -- PROGRAM``: a program execscope did not write.

    execscope run [--headless] [--json PATH] [--timeout S] -- python prog.py ARGS...
    execscope run [...] -- python -m module ARGS...

``run --`` starts the program instrumented (``program.py``).  In program mode
the program owns stdout: headless progress lines and the summary go to stderr.
"""

from __future__ import annotations

import argparse
from typing import List, Optional, Sequence, Tuple

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
