"""``execscope demo``: the guided tour advancing on a timer, and a recording of it.

    execscope demo [--step-seconds S] [--claims C1,C3,...] [--refresh HZ]
    execscope demo --record FILE.cast [--size 100x30] [--duration S] [--svg FILE.svg]

``--record`` runs the demo (``execscope demo`` itself, through the command
line) in a pseudo-terminal and writes an asciicast v2 file that
``asciinema play`` replays; on a terminal (as large as ``--size``) the demo
is shown live as it is recorded and keys reach it.  The size is this terminal's (followed when it
is resized), ``--size``, or 80x24 without a terminal.  The recording ends
with the tour, after ``--duration`` seconds, or on Ctrl-C / SIGTERM / hang-up,
and is a valid cast whichever way it ends.  ``--svg`` also draws it as an
animated SVG (``execscope.castsvg``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from typing import Any, Callable, List, Optional

from .errors import UsageError

EXIT_OK, EXIT_RUN_FAILED = 0, 1


def add_demo(sub: Any, float_type: Callable[[str], float]) -> None:
    demo = sub.add_parser("demo", help="the tour of the claims, advancing on a timer; --record makes a recording")
    demo.add_argument("--step-seconds", type=float_type, default=12.0, metavar="S", help="seconds per tour step")
    demo.add_argument("--claims", default=None, metavar="C1,C2,...", help="only these claims' steps")
    demo.add_argument("--refresh", type=float_type, default=None, help="snapshots per second")
    demo.add_argument("--record", default=None, metavar="FILE.cast",
                      help="record the demo as an asciicast v2 file (asciinema play replays it)")
    demo.add_argument("--size", default=None, metavar="COLSxROWS",
                      help="with --record: the recorded terminal's size (default: this terminal's, else 80x24)")
    demo.add_argument("--duration", type=float_type, default=None, metavar="S",
                      help="with --record: stop after S seconds (default: the whole tour)")
    demo.add_argument("--svg", default=None, metavar="FILE.svg",
                      help="with --record: also write the recording as an animated SVG")


def _claims(text: Optional[str]) -> Optional[List[str]]:
    if text is None:
        return None
    from .tour import CLAIMS

    claims = [c.strip().upper() for c in text.split(",") if c.strip()]
    if not claims:
        raise UsageError("--claims %r: name at least one claim, such as C1,C3" % text)
    unknown = sorted(set(claims) - set(CLAIMS))
    if unknown:
        raise UsageError("--claims: unknown claim %s (C1..C14)" % ", ".join(unknown))
    return claims


def demo_argv(args: argparse.Namespace) -> List[str]:
    """The ``execscope demo`` options that the recorded demo is started with."""
    argv = ["demo", "--step-seconds", "%g" % args.step_seconds]
    if args.claims:
        argv += ["--claims", args.claims]
    if args.refresh:
        argv += ["--refresh", "%g" % args.refresh]
    return argv


def cmd_demo(args: argparse.Namespace) -> int:
    claims = _claims(args.claims)
    if args.record is None:
        for flag in ("size", "duration", "svg"):
            if getattr(args, flag) is not None:
                raise UsageError("--%s goes with --record FILE.cast" % flag)
        from .cli import tui_or_error

        run_tui = tui_or_error("the demo")
        steps = None
        if claims:
            from execscope.tui.tour_steps import tour_steps

            steps = list(tour_steps(claims=claims))
        return run_tui(refresh_hz=args.refresh or 10.0, demo_step_s=args.step_seconds, steps=steps)
    return record_demo(args)


def record_demo(args: argparse.Namespace) -> int:
    from .cli import _check_output_path
    from .record import parse_size, record

    _check_output_path(args.record, "--record")
    _check_output_path(args.svg, "--svg")
    size = parse_size(args.size) if args.size else None
    options = demo_argv(args)
    rec = record([sys.executable, "-m", "execscope"] + options, args.record, size,
                 duration=args.duration, title="execscope demo", command=shlex.join(["execscope"] + options))
    how = {None: "the demo ended", "duration": "--duration reached"}.get(rec.stopped_by,
                                                                          "stopped by %s" % rec.stopped_by)
    print("recorded %s: %dx%d, %.1f s, %d events, %d KB of output (%s; the recorder used %.2f s of CPU)" % (
        args.record, rec.cols, rec.rows, rec.duration_s, rec.events, rec.bytes_out // 1024, how, rec.cpu_s),
        file=sys.stderr)
    if rec.exit_status not in (0, None):
        print("execscope demo exited with status %s: the recording shows why" % rec.exit_status, file=sys.stderr)
    if args.svg:
        from .castsvg import cast_to_svg

        anim = cast_to_svg(args.record, args.svg)
        print("wrote %s: %d frames, %.1f s, %d KB" % (args.svg, anim.frames, anim.duration_s,
                                                     os.path.getsize(args.svg) // 1024), file=sys.stderr)
    ended_well = rec.exit_status == 0 and rec.stopped_by in (None, "duration")
    return EXIT_OK if ended_well else EXIT_RUN_FAILED
