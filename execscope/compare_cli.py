"""``execscope compare``: argument parsing and the headless driver.  The work
itself is in ``compare``.  On a terminal the TUI's compare view runs the same
plan and gives the same verdict; ``--headless`` (implied without a terminal,
and by ``--json`` or ``--markdown``, which write the measured runs) prints.

    execscope compare WORKLOAD [--executors serial,thread,process:fork,...]
                      [--workers N | N,N,...] [--tasks N] [--param K=V ...]
                      [--python PATH] [--timeout S] [--no-gil] [--headless]
                      [--json PATH] [--markdown PATH]

Exit status: 0 when every run completed; 1 when a run failed or the user
stopped it; 2 for bad input (one line, nothing run).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import Any, Callable

from .errors import UsageError
from .fmt import fmt_num

EXIT_OK, EXIT_RUN_FAILED = 0, 1


def add_compare(sub: Any, int_type: Callable[[str], int], float_type: Callable[[str], float]) -> None:
    cmp = sub.add_parser("compare", help="one workload under every executor: the decision table, measured")
    cmp.add_argument("workload", help="built-in name, package.module:function or file.py:function")
    cmp.add_argument("--executors", default=None, metavar="LIST",
                     help="comma list of serial, thread, process, process:fork|spawn|forkserver "
                          "(default: serial, thread and every start method available)")
    cmp.add_argument("--workers", default=None, metavar="N[,N...]",
                     help="pool size, or a list for a scaling sweep (default: each executor's own)")
    cmp.add_argument("--tasks", type=int_type, default=None)
    cmp.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    cmp.add_argument("--python", default=None, metavar="PATH")
    cmp.add_argument("--timeout", type=float_type, default=None, help="seconds per run")
    cmp.add_argument("--no-gil", action="store_true", help="do not sample the GIL with py-spy")
    cmp.add_argument("--headless", action="store_true",
                     help="progress lines and the table instead of the TUI's compare view "
                          "(implied without a terminal, and by --json or --markdown)")
    cmp.add_argument("--json", default=None, metavar="PATH")
    cmp.add_argument("--markdown", default=None, metavar="PATH")


def cmd_compare(args: argparse.Namespace) -> int:
    from . import report
    from .cli import OnSignal, _check_output_path, parse_params
    from .compare import (CompareRequest, Comparison, compare_json, exit_ok, parse_executors,
                          parse_workers)
    from .markdown import compare_markdown, compare_text

    _check_output_path(args.json, "--json")
    _check_output_path(args.markdown, "--markdown")
    request = CompareRequest(
        workload=args.workload,
        executors=tuple(parse_executors(args.executors)) if args.executors is not None else None,
        workers=tuple(parse_workers(args.workers)) if args.workers is not None else (None,),
        tasks=args.tasks,
        params=parse_params(args.param),
        python=args.python,
        timeout=args.timeout,
        gil_sampling=not args.no_gil,
    )
    if request.tasks is not None and request.tasks <= 0:
        raise UsageError("--tasks %d: must be at least 1" % request.tasks)
    if not (args.headless or args.json or args.markdown) and sys.stdout.isatty():
        from .compare import plan
        from .cli import tui_or_error

        return tui_or_error("the compare view")(compare=plan(request), refresh_hz=args.refresh)
    last_second = [-1]
    out = sys.stdout

    def progress(index: int, snap: Any) -> None:
        second = int(snap.t_s)
        if second >= 1 and second > last_second[0] and not snap.finished:
            last_second[0] = second
            print("  " + report.progress_line(snap), file=out, flush=True)

    comparison = Comparison(request, on_snapshot=progress)
    print("compare %s: %d runs (%s)" % (args.workload, len(comparison.configs),
                                        ", ".join(c.label for c in comparison.configs)), file=out, flush=True)
    stopper = OnSignal(comparison.stop)
    try:
        for result in comparison.runs():
            last_second[0] = -1
            row = result.row
            print("[%d/%d] %-22s %s: %d tasks in %s, %s tasks/s%s" % (
                result.index + 1, result.total, row.label, row.status, row.completed, report.fmt_s(row.wall_s),
                fmt_num(row.throughput_per_s),
                "" if row.speedup is None else ", %.2fx serial" % row.speedup), file=out, flush=True)
    finally:
        stopper.restore()
    outcome = comparison.outcome()
    width = shutil.get_terminal_size().columns if out.isatty() else None
    print(compare_text(outcome, width), file=out, flush=True)
    if args.json:
        report.write_json_atomic(args.json, compare_json(outcome))
    if args.markdown:
        report.write_text_atomic(args.markdown, compare_markdown(outcome))
    return EXIT_OK if exit_ok(outcome) else EXIT_RUN_FAILED
