"""Checking a run request before any process starts.

Everything a user can get wrong on the command line or in the picker is
caught here and turned into one ``UsageError`` line: the CLI prints it and
exits 2, the TUI shows it beside the form.  Program and attach requests are
checked by their own modules.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from . import families
from .errors import UsageError
from .interpreters import probe
from .model import RunConfig

MAX_WORKERS = {"thread": 4096, "process": 1024}


def validate(config: RunConfig) -> Tuple[RunConfig, Optional[Any], Dict]:
    """Check a run request before any process starts. Returns the config with
    defaults filled in, the built-in Workload (None for custom ones) and the
    interpreter facts.  Raises UsageError with one line for the user."""
    if config.argv:
        from . import program

        return program.validate(config)
    if config.attach_pid is not None:
        from . import attach

        return attach.validate(config)
    from execscope.workloads.base import ParamError

    from .runner import resolve

    if config.executor not in families.KINDS:
        raise UsageError("--executor %s: choose %s" % (config.executor, ", ".join(families.KINDS)))
    missing = families.missing_requirement(config.executor)
    if missing:
        raise UsageError(missing)
    if config.workers is not None:
        if config.workers <= 0:
            raise UsageError("--workers %d: must be at least 1" % config.workers)
        cap = MAX_WORKERS["process" if families.uses_processes(config.executor) else "thread"]
        if config.workers > cap:
            raise UsageError("--workers %d: more than %d %s workers is not a useful experiment"
                             % (config.workers, cap, config.executor))
    if config.tasks is not None and config.tasks <= 0:
        raise UsageError("--tasks %d: must be at least 1" % config.tasks)
    if config.tasks is not None and config.tasks > 10_000_000:
        raise UsageError("--tasks %d: at most 10000000" % config.tasks)
    if config.duration is not None and not (0 < config.duration <= 7 * 24 * 3600):
        raise UsageError("--duration %s: must be a positive number of seconds" % config.duration)
    if config.tasks is not None and config.duration is not None:
        raise UsageError("give --tasks or --duration, not both")
    if config.timeout is not None and not (0 < config.timeout <= 7 * 24 * 3600):
        raise UsageError("--timeout %s: must be a positive number of seconds" % config.timeout)
    if config.on_deadlock not in ("stop", "wait"):
        raise UsageError("--on-deadlock %s: choose stop or wait" % config.on_deadlock)
    info = probe(config.python)
    too_old = families.python_problem(config.executor, info["version"], info["path"])
    if too_old:
        raise UsageError(too_old)
    if families.takes_start_method(config.executor):
        method = config.start_method or info["default_start_method"]
        if method not in ("fork", "spawn", "forkserver"):
            raise UsageError("--start-method %s: choose fork, spawn or forkserver" % method)
        if method not in info["start_methods"]:
            raise UsageError("--start-method %s is not available with %s (available: %s)"
                             % (method, info["path"], ", ".join(info["start_methods"])))
        config = config.with_(start_method=method)
    elif config.start_method:
        raise UsageError("--start-method applies to --executor %s only"
                         % " or ".join(k for k in families.KINDS if families.takes_start_method(k)))
    if config.executor == "serial" and config.workers not in (None, 1):
        raise UsageError("--workers %d: the serial baseline has exactly one worker" % config.workers)

    workload = None
    if not resolve.is_custom(config.workload):
        try:
            workload = resolve.resolve(config.workload)
            resolve.resolve_params(workload, dict(config.params))
        except (resolve.SpecError, ParamError) as exc:
            raise UsageError(str(exc)) from None
        if not families.supports(config.executor, workload.executors):
            raise UsageError("workload %s cannot run under --executor %s (supported: %s)"
                             % (workload.name, config.executor, ", ".join(workload.executors)))
        if config.tasks is None and config.duration is None:
            config = config.with_(tasks=workload.default_tasks)
    elif config.tasks is None and config.duration is None:
        config = config.with_(tasks=100)
    return config, workload, info
