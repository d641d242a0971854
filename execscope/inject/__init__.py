"""Instrumentation injected into a program that execscope did not write.

``execscope run -- python prog.py ARGS`` starts the program with a private
directory first on ``PYTHONPATH``; its ``sitecustomize`` (``_site.py``) calls
``boot()`` in every Python process of the run: the program, its process-pool
workers, anything it starts with ``subprocess`` or ``multiprocessing``, since
all of them inherit the environment.

``boot`` costs almost nothing: it installs an import hook and returns.  Only
when ``concurrent.futures.thread`` / ``.process`` is imported are
``ThreadPoolExecutor`` and ``ProcessPoolExecutor`` patched (``hooks``), and
only when the first executor is created does a process open its telemetry
connection (``agent``).  The program itself (the first process to boot)
connects at once, so the run has a heartbeat even before, or without, any
executor; a pool's own workers never connect unless they create executors of
their own.

Standard library only, Python 3.9 syntax: this runs inside the user's
interpreter, whatever it is.
"""

from __future__ import annotations

import os

ENV = "EXECSCOPE_INJECT"  # the run's private directory
SOCKET_NAME = "telemetry.sock"
ROOT_NAME = "root"  # holds the pid of the program (the first process to boot)


def boot() -> None:
    run_dir = os.environ.get(ENV)
    if not run_dir or not os.path.isdir(run_dir) or _in_subinterpreter():
        return
    from . import hooks

    hooks.install()
    if _claim_root(run_dir):
        from . import agent

        agent.start(run_dir, root=True)


def _in_subinterpreter() -> bool:
    """An InterpreterPoolExecutor worker's interpreter (3.14+) imports site too:
    it shares the program's pid and may not start threads of its own, and
    its tasks are timed from the main interpreter, so nothing starts there."""
    try:
        import _interpreters  # type: ignore[import-not-found]
    except ImportError:
        return False
    return _interpreters.get_current()[0] != _interpreters.get_main()[0]


def _claim_root(run_dir: str) -> bool:
    """True in the program's own process: the first to boot, or the same pid
    booting again after an exec."""
    path = os.path.join(run_dir, ROOT_NAME)
    pid = str(os.getpid()).encode()
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        try:
            with open(path, "rb") as fh:
                return fh.read().strip() == pid
        except OSError:
            return False
    except OSError:
        return False
    try:
        os.write(fd, pid)
    finally:
        os.close(fd)
    return True
