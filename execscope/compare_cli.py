"""``execscope compare`` and ``execscope tour``: argument parsing and the
headless drivers.  The work itself is in ``compare`` and ``tour``.

    execscope compare WORKLOAD [--executors serial,thread,process:fork,...]
                      [--workers N | N,N,...] [--tasks N] [--param K=V ...]
                      [--python PATH] [--timeout S] [--no-gil]
                      [--json PATH] [--markdown PATH]
    execscope tour [--headless] [--markdown PATH] [--json PATH] [--python PATH]
                   [--size default|tiny] [--claims C1,C3,...] [--no-gil]

Exit status: 0 when every run completed (compare) or every claim was
measured or found not runnable here (tour); 1 when a run failed or the user
stopped it; 2 for bad input (one line, nothing run).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from typing import Any, Callable, List, Optional

from .errors import UsageError

EXIT_OK, EXIT_RUN_FAILED = 0, 1


def add_commands(sub: Any, int_type: Callable[[str], int], float_type: Callable[[str], float]) -> None:
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
    cmp.add_argument("--headless", action="store_true", help="plain text output (the default for now)")
    cmp.add_argument("--json", default=None, metavar="PATH")
    cmp.add_argument("--markdown", default=None, metavar="PATH")

    tour = sub.add_parser("tour", help="run every claim of the article that can run here")
    tour.add_argument("--headless", action="store_true")
    tour.add_argument("--markdown", default=None, metavar="PATH")
    tour.add_argument("--json", default=None, metavar="PATH")
    tour.add_argument("--python", default=None, metavar="PATH")
    tour.add_argument("--size", choices=("default", "tiny"), default="default",
                      help="tiny: seconds, for smoke tests; its verdicts mean little")
    tour.add_argument("--claims", default=None, metavar="C1,C2,...")
    tour.add_argument("--no-gil", action="store_true", help="do not sample the GIL with py-spy")


class _OnSignal:
    """SIGINT / SIGTERM / SIGHUP call ``stop`` (the measurements so far are kept)."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self.stop = stop
        self.signalled = False
        self._old = {}
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._old[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        self.signalled = True
        self.stop()

    def restore(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def cmd_compare(args: argparse.Namespace) -> int:
    from . import report
    from .cli import _check_output_path, parse_params
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
    stopper = _OnSignal(comparison.stop)
    try:
        for result in comparison.runs():
            last_second[0] = -1
            row = result.row
            print("[%d/%d] %-22s %s: %d tasks in %s, %s tasks/s%s" % (
                result.index + 1, result.total, row.label, row.status, row.completed, report.fmt_s(row.wall_s),
                "%.1f" % row.throughput_per_s,
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


def cmd_tour(args: argparse.Namespace) -> int:
    from .cli import _check_output_path

    _check_output_path(args.json, "--json")
    _check_output_path(args.markdown, "--markdown")
    claims = [c.strip() for c in args.claims.split(",") if c.strip()] if args.claims else None
    if args.claims is not None and not claims:
        raise UsageError("--claims %r: name at least one claim, such as C1,C3" % args.claims)
    if not args.headless and sys.stdout.isatty():
        try:
            from execscope.tui.app import run_tour  # type: ignore[attr-defined]
        except ImportError:
            pass
        else:
            return run_tour(python=args.python, size=args.size, claims=claims, gil=not args.no_gil,
                            markdown_path=args.markdown, json_path=args.json)
    return run_tour_headless(args.python, args.size, claims, not args.no_gil, args.markdown, args.json)


def run_tour_headless(python: Optional[str], size: str, claims: Optional[List[str]], gil: bool,
                      markdown_path: Optional[str], json_path: Optional[str], out: Any = None) -> int:
    from . import report
    from .markdown import tour_markdown, tour_text
    from .tour import CANNOT, FAILS, HOLDS, TourRunner, machine_of, steps, tour_json

    out = out or sys.stdout
    t0 = time.monotonic()
    tour_steps = steps(size=size, python=python, gil=gil, claims=claims)
    print("tour: %d claims, %s sizes" % (len(tour_steps), size), file=out, flush=True)

    def on_run(step: Any, name: str, run: Any) -> None:
        from .compare import run_label

        print("  %-4s %-18s %-26s %s, %s tasks/s" % (
            step.claim, name[:18], "%s %s" % (run["workload"]["name"], run_label(run)), run["status"],
            "%.1f" % (run["tasks"]["throughput_per_s"] or 0)), file=out, flush=True)

    runner = TourRunner(tour_steps, on_run=on_run, size=size)
    stopper = _OnSignal(runner.stop)
    results = []
    try:
        for result in runner.results():
            results.append(result)
            print("%-4s %-15s %s -- %s" % (result.step.claim, result.check.status, result.check.figure,
                                          result.check.measured), file=out, flush=True)
    finally:
        stopper.restore()
    elapsed = time.monotonic() - t0
    complete = len(results) == len(tour_steps) and not runner.interrupted
    print(tour_text(results), file=out)
    print("tour time %.1f s" % elapsed, file=out, flush=True)
    machine, interpreter = machine_of(results)
    if markdown_path:
        report.write_text_atomic(markdown_path, tour_markdown(results, machine, interpreter, size, elapsed, complete))
    if json_path:
        obj = tour_json(results, runner.facts, machine, interpreter)
        obj["elapsed_s"] = round(elapsed, 2)
        obj["complete"] = complete
        report.write_json_atomic(json_path, obj)
    measured = all(r.check.status in (HOLDS, FAILS, CANNOT) for r in results)
    return EXIT_OK if complete and measured else EXIT_RUN_FAILED
