"""The ``execscope`` command line.

    execscope                       TUI on the built-in default (a tour of the claims)
    execscope list                  workloads, with the claims each shows
    execscope run WORKLOAD [...]    one run: TUI on a terminal, else headless
    execscope run [...] -- python prog.py ARGS   your own program, instrumented
    execscope attach PID            a running Python process, from outside
    execscope compare WORKLOAD      the same work under every executor, and a verdict
    execscope tour                  every claim of the article, measured here
    execscope demo [--record F.cast] the tour on a timer; recorded as an asciicast
    execscope doctor                what works here

Bad input is one line on stderr and exit status 2; a run that did not
complete exits 1; a completed run exits 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, Callable, Dict, List, NoReturn, Optional, Sequence

from .errors import UsageError
from .families import KINDS
from .model import RunConfig
from .signals import signal_name

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE = 0, 1, 2


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line, not a usage block."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number" % text) from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("%r must be a positive number" % text)
    return value


def _int(text: str) -> int:
    try:
        return int(text.replace("_", ""), 10)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a whole number" % text) from None


def parse_params(pairs: Sequence[str]) -> Dict[str, str]:
    params: Dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key or not key.isidentifier():
            raise UsageError("--param %r: expected KEY=VALUE with KEY a name" % pair)
        params[key] = value
    return params


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", choices=KINDS, default="thread",
                   help="serial is a one-worker baseline with the same instrumentation; pool is "
                        "multiprocessing.Pool, loky needs execscope[loky], dask (a local Dask cluster) "
                        "execscope[dask] (default: thread)")
    p.add_argument("--start-method", choices=("fork", "spawn", "forkserver"), default=None,
                   help="process and pool only (default: the interpreter's own)")
    p.add_argument("--workers", type=_int, default=None, help="pool size (default: the executor's own)")
    p.add_argument("--tasks", type=_int, default=None, help="number of tasks (default: the workload's)")
    p.add_argument("--duration", type=_positive_float, default=None, metavar="S",
                   help="keep submitting for S seconds instead of a task count")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a workload parameter (repeat); `execscope list` shows them")
    p.add_argument("--python", default=None, metavar="PATH",
                   help="run the workload under this interpreter (CPython 3.9+)")
    p.add_argument("--timeout", type=_positive_float, default=None, metavar="S",
                   help="stop the run after S seconds (status timeout)")
    p.add_argument("--on-deadlock", choices=("stop", "wait"), default="stop",
                   help="what to do once starvation has deadlocked the pool (default: stop)")
    p.add_argument("--no-gil", action="store_true", help="do not sample the GIL with py-spy")
    p.add_argument("--refresh", type=_positive_float, default=10.0, metavar="HZ",
                   help="snapshots per second (default 10)")


def build_parser() -> Parser:
    parser = Parser(prog="execscope", description="See Python's executors trade threads against processes, live.")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)

    sub.add_parser("list", help="the workload catalog")

    run = sub.add_parser("run", help="run one workload under one executor")
    run.add_argument("workload", nargs="?", default=None,
                     help="built-in name, package.module:function or file.py:function; "
                          "or none, and -- python prog.py ARGS after the options")
    _add_run_options(run)
    run.add_argument("--headless", action="store_true",
                     help="progress lines and a summary instead of the TUI (implied without a terminal)")
    run.add_argument("--json", default=None, metavar="PATH", help="write the run object (execscope.run/1)")

    sub.add_parser("doctor", help="what works on this machine")

    from .attach_cli import add_attach
    from .compare_cli import add_compare
    from .demo_cli import add_demo
    from .tour_cli import add_tour

    add_compare(sub, _int, _positive_float)
    add_tour(sub, _int, _positive_float)
    add_attach(sub, _int, _positive_float)
    add_demo(sub, _positive_float)
    parser.add_argument("--refresh", type=_positive_float, default=10.0,
                        help="snapshots per second in the TUI (lower it on slow links)")
    return parser


def config_from(args: argparse.Namespace) -> RunConfig:
    return RunConfig(
        workload=args.workload,
        executor=args.executor,
        start_method=args.start_method,
        workers=args.workers,
        tasks=args.tasks,
        duration=args.duration,
        params=parse_params(args.param),
        python=args.python,
        timeout=args.timeout,
        on_deadlock=args.on_deadlock,
        gil_sampling=not args.no_gil,
    )


def cmd_list(args: argparse.Namespace) -> int:
    from execscope.workloads import catalog

    for w in catalog().values():
        print("%-17s %-22s %s" % (w.name, ",".join(w.claims), w.summary))
        params = ", ".join("%s=%s" % (p.name, p.default) for p in w.params)
        print("%-17s %-22s executors: %s%s" % ("", "", "/".join(w.executors),
                                               ("; params: " + params) if params else ""))
    return EXIT_OK


def _check_output_path(path: Optional[str], flag: str) -> None:
    if path is None:
        return
    if not path.strip():
        raise UsageError("%s: give a file path" % flag)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError("%s %s: directory %s does not exist" % (flag, path, directory))
    if not os.access(directory, os.W_OK):
        raise UsageError("%s %s: directory %s is not writable" % (flag, path, directory))
    if os.path.isdir(path):
        raise UsageError("%s %s: is a directory" % (flag, path))


class OnSignal:
    """SIGINT / SIGTERM / SIGHUP call ``stop`` (the measurements so far are kept);
    ``signalled`` is the signal's number once one came."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self.stop = stop
        self.signalled: Optional[int] = None
        self._old = {}
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._old[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        self.signalled = signum
        self.stop()

    def restore(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def _stopper(session: Any) -> OnSignal:
    """A signal ends the run as ``interrupted``, naming the signal; ``close()`` then
    kills what is left, and what was measured is reported."""
    def stop() -> None:
        session.finish("interrupted", "stopped by %s" % signal_name(stopper.signalled))

    stopper = OnSignal(stop)
    return stopper


def run_headless(config: RunConfig, json_path: Optional[str], out: Any = None,
                 refresh_hz: float = 10.0) -> int:
    from . import report
    from .sampling import gil_factory
    from .session import Session

    # A program's stdout is its own (copied through): ours goes to stderr.
    out = out or (sys.stderr if (config.argv or config.attach_pid is not None) else sys.stdout)
    last_second = [-1]

    def progress(snap: Any) -> None:
        second = int(snap.t_s)
        if second > last_second[0] and snap.status == "running":
            last_second[0] = second
            print(report.progress_line(snap), file=out, flush=True)

    session = Session(config, listener=progress, gil_sampler_factory=gil_factory(config),
                      refresh_hz=refresh_hz)
    session.passthrough_output = bool(config.argv)
    stopper = _stopper(session)
    try:
        session.start()
        session.wait()
    finally:
        session.close()
        stopper.restore()
    record = session.record()
    if record.usage_error:
        raise UsageError(record.usage_error)
    snap = record.snapshot
    print(report.summary_table(snap), file=out, flush=True)
    if record.output_tail and snap.status != "completed" and not session.passthrough_output:
        print("--- workload output (last lines) ---", file=out)
        for line in record.output_tail[-10:]:
            print(line, file=out)
    if json_path:
        report.write_json_atomic(json_path, report.run_json(record))
    return EXIT_OK if snap.status == "completed" else EXIT_RUN_FAILED


def cmd_run(args: argparse.Namespace) -> int:
    _check_output_path(args.json, "--json")
    if getattr(args, "program", None) is not None:
        from .program_cli import program_config

        config = program_config(args, args.program, args.program_options)
    elif args.workload is None:
        raise UsageError("run: give a WORKLOAD (see `execscope list`), or -- python prog.py ARGS")
    else:
        config = config_from(args)
    return _show(config, args)


def _show(config: RunConfig, args: argparse.Namespace) -> int:
    """One run: the TUI on a terminal, else (or with --headless) progress lines."""
    if args.headless or not sys.stdout.isatty():
        return run_headless(config, args.json, refresh_hz=args.refresh)
    try:
        from execscope.tui.app import run_tui
    except ImportError:
        return run_headless(config, args.json, refresh_hz=args.refresh)
    return run_tui(config=config, json_path=args.json, refresh_hz=args.refresh)


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import report_lines

    for line in report_lines():
        print(line)
    return EXIT_OK


def tui_or_error(what: str) -> Any:
    """run_tui for the tour, the demo and the compare view, which only make sense on a terminal."""
    try:
        from execscope.tui.app import run_tui
    except ImportError as exc:
        raise UsageError("the TUI is not available here (%s): try `execscope tour --headless`" % exc)
    if not sys.stdout.isatty():
        raise UsageError("%s needs a terminal: use `execscope tour --headless` or "
                         "`execscope run WORKLOAD --headless`" % what)
    return run_tui


def cmd_default(args: argparse.Namespace) -> int:
    if sys.stdout.isatty():
        from execscope.tui.tour_steps import prefetch

        prefetch()  # the tour's interpreter probes overlap Textual's import
    return tui_or_error("the TUI")(refresh_hz=args.refresh)


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare_cli import cmd_compare as handler

    return handler(args)


def cmd_tour(args: argparse.Namespace) -> int:
    from .tour_cli import cmd_tour as handler

    return handler(args)


def cmd_attach(args: argparse.Namespace) -> int:
    from .attach_cli import attach_config

    _check_output_path(args.json, "--json")
    return _show(attach_config(args), args)


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo_cli import cmd_demo as handler

    return handler(args)


COMMANDS = {"list": cmd_list, "run": cmd_run, "doctor": cmd_doctor, "compare": cmd_compare, "tour": cmd_tour,
            "demo": cmd_demo, "attach": cmd_attach}


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        from .program_cli import split_program

        options, program = split_program(argv)
        args = build_parser().parse_args(options)
        args.program, args.program_options = program, options
        handler = COMMANDS.get(args.command, cmd_default)
        return handler(args)
    except UsageError as exc:
        print("execscope: error: %s" % exc, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("execscope: interrupted", file=sys.stderr)
        return EXIT_RUN_FAILED
    except BrokenPipeError:
        return EXIT_RUN_FAILED
