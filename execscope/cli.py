"""The ``execscope`` command line.

    execscope                       TUI on the built-in default (a tour of the claims)
    execscope list                  workloads, with the claims each shows
    execscope run WORKLOAD [...]    one run: TUI on a terminal, else headless
    execscope compare WORKLOAD      the same work under every executor, and a verdict
    execscope tour                  every claim of the article, measured here
    execscope doctor                what works here

Bad input is one line on stderr and exit status 2; a run that did not
complete exits 1; a completed run exits 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, Dict, List, Optional, Sequence

from .errors import UsageError
from .model import RunConfig

EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE = 0, 1, 2


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line, not a usage block."""

    def error(self, message: str) -> "NoReturn":  # type: ignore[name-defined]
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
    p.add_argument("--executor", choices=("serial", "thread", "process"), default="thread")
    p.add_argument("--start-method", choices=("fork", "spawn", "forkserver"), default=None)
    p.add_argument("--workers", type=_int, default=None)
    p.add_argument("--tasks", type=_int, default=None)
    p.add_argument("--duration", type=_positive_float, default=None)
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--python", default=None, metavar="PATH")
    p.add_argument("--timeout", type=_positive_float, default=None)
    p.add_argument("--on-deadlock", choices=("stop", "wait"), default="stop")
    p.add_argument("--no-gil", action="store_true", help="do not sample the GIL with py-spy")
    p.add_argument("--refresh", type=_positive_float, default=10.0, help="snapshots per second")


def build_parser() -> Parser:
    parser = Parser(prog="execscope", description="See Python's executors trade threads against processes, live.")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)

    sub.add_parser("list", help="the workload catalog")

    run = sub.add_parser("run", help="run one workload under one executor")
    run.add_argument("workload", help="built-in name, package.module:function or file.py:function")
    _add_run_options(run)
    run.add_argument("--headless", action="store_true")
    run.add_argument("--json", default=None, metavar="PATH")

    sub.add_parser("doctor", help="what works on this machine")

    from .compare_cli import add_commands

    add_commands(sub, _int, _positive_float)
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
    from workloads import catalog

    for w in catalog().values():
        print("%-17s %-22s %s" % (w.name, ",".join(w.claims), w.summary))
        params = ", ".join("%s=%s" % (p.name, p.default) for p in w.params)
        print("%-17s %-22s executors: %s%s" % ("", "", "/".join(w.executors),
                                               ("; params: " + params) if params else ""))
    return EXIT_OK


def _check_output_path(path: Optional[str], flag: str) -> None:
    if path is None:
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError("%s %s: directory %s does not exist" % (flag, path, directory))
    if not os.access(directory, os.W_OK):
        raise UsageError("%s %s: directory %s is not writable" % (flag, path, directory))
    if os.path.isdir(path):
        raise UsageError("%s %s: is a directory" % (flag, path))


def gil_factory(config: RunConfig) -> Any:
    if not config.gil_sampling:
        return None
    try:
        from .sampling.gil import make_sampler
    except ImportError:
        return None
    return make_sampler


class _Stopper:
    """SIGINT / SIGTERM / SIGHUP: stop the run, keep what was measured."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.signalled: Optional[int] = None
        self._old = {}
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._old[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        self.signalled = signum
        name = signal.Signals(signum).name
        self.session._finish("interrupted", "stopped by %s" % name)

    def restore(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def run_headless(config: RunConfig, json_path: Optional[str], out: Any = None,
                 refresh_hz: float = 10.0) -> int:
    from . import report
    from .session import Session

    out = out or sys.stdout
    last_second = [-1]

    def progress(snap: Any) -> None:
        second = int(snap.t_s)
        if second > last_second[0] and snap.status == "running":
            last_second[0] = second
            print(report.progress_line(snap), file=out, flush=True)

    session = Session(config, listener=progress, gil_sampler_factory=gil_factory(config),
                      refresh_hz=refresh_hz)
    stopper = _Stopper(session)
    try:
        session.start()
        session.wait()
    finally:
        session.close()
        stopper.restore()
    if session.usage_error:
        raise UsageError(session.usage_error)
    snap = session.snapshot()
    print(report.summary_table(snap), file=out, flush=True)
    if session.output_tail and snap.status != "completed":
        print("--- workload output (last lines) ---", file=out)
        for line in list(session.output_tail)[-10:]:
            print(line, file=out)
    if json_path:
        report.write_json_atomic(json_path, report.run_json(session))
    return EXIT_OK if snap.status == "completed" else EXIT_RUN_FAILED


def cmd_run(args: argparse.Namespace) -> int:
    _check_output_path(args.json, "--json")
    config = config_from(args)
    if args.headless or not sys.stdout.isatty():
        return run_headless(config, args.json, refresh_hz=args.refresh)
    try:
        from tui.app import run_tui
    except ImportError:
        return run_headless(config, args.json, refresh_hz=args.refresh)
    return run_tui(config=config, json_path=args.json, refresh_hz=args.refresh)


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import report_lines

    for line in report_lines():
        print(line)
    return EXIT_OK


def cmd_default(args: argparse.Namespace) -> int:
    try:
        from tui.app import run_tui
    except ImportError as exc:
        raise UsageError("the TUI is not available here (%s): try `execscope run cpu --headless`" % exc)
    if not sys.stdout.isatty():
        raise UsageError("the TUI needs a terminal: use `execscope run WORKLOAD --headless`")
    return run_tui()


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare_cli import cmd_compare as handler

    return handler(args)


def cmd_tour(args: argparse.Namespace) -> int:
    from .compare_cli import cmd_tour as handler

    return handler(args)


COMMANDS = {"list": cmd_list, "run": cmd_run, "doctor": cmd_doctor, "compare": cmd_compare, "tour": cmd_tour}


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
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
