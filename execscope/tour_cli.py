"""``execscope tour``: every claim of the article that can run here.

    execscope tour [--headless] [--markdown PATH] [--json PATH] [--python PATH]
                   [--size default|tiny] [--claims C1,C3,...] [--no-gil]

On a terminal the TUI's guided tour opens on the same steps (``tour.steps``);
``--headless``, no terminal, ``--json`` or ``--markdown`` run the claims one
after another and print (and write) what each measured.

Exit status: 0 when every claim was measured or found not runnable here; 1
when a run failed or the user stopped it; 2 for bad input (one line).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Callable, List, Optional

from .errors import UsageError
from .fmt import fmt_num

EXIT_OK, EXIT_RUN_FAILED = 0, 1


def add_tour(sub: Any, int_type: Callable[[str], int], float_type: Callable[[str], float]) -> None:
    tour = sub.add_parser("tour", help="run every claim of the article that can run here")
    tour.add_argument("--headless", action="store_true",
                      help="run the claims one after another and print what each measured, instead of "
                           "the TUI's guided tour (implied without a terminal, and by --json or --markdown)")
    tour.add_argument("--markdown", default=None, metavar="PATH")
    tour.add_argument("--json", default=None, metavar="PATH")
    tour.add_argument("--python", default=None, metavar="PATH")
    tour.add_argument("--size", choices=("default", "tiny"), default="default",
                      help="tiny: seconds, for smoke tests; its verdicts mean little")
    tour.add_argument("--claims", default=None, metavar="C1,C2,...")
    tour.add_argument("--no-gil", action="store_true", help="do not sample the GIL with py-spy")


def cmd_tour(args: argparse.Namespace) -> int:
    from .cli import _check_output_path

    _check_output_path(args.json, "--json")
    _check_output_path(args.markdown, "--markdown")
    claims = [c.strip() for c in args.claims.split(",") if c.strip()] if args.claims else None
    if args.claims is not None and not claims:
        raise UsageError("--claims %r: name at least one claim, such as C1,C3" % args.claims)
    if not (args.headless or args.json or args.markdown) and sys.stdout.isatty():
        from .cli import tui_or_error

        run_tui = tui_or_error("the tour")
        from execscope.tui.tour_steps import tour_steps

        return run_tui(steps=list(tour_steps(size=args.size, python=args.python, gil=not args.no_gil,
                                             claims=claims)), refresh_hz=args.refresh)
    return run_tour_headless(args.python, args.size, claims, not args.no_gil, args.markdown, args.json)


def run_tour_headless(python: Optional[str], size: str, claims: Optional[List[str]], gil: bool,
                      markdown_path: Optional[str], json_path: Optional[str], out: Any = None) -> int:
    from . import report
    from .cli import OnSignal
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
            fmt_num(run["tasks"]["throughput_per_s"] or 0)), file=out, flush=True)

    runner = TourRunner(tour_steps, on_run=on_run, size=size)
    stopper = OnSignal(runner.stop)
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
