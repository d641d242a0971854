"""Loaded as ``sitecustomize`` by every Python process of an instrumented run.

The run's private directory holds this file as ``sitecustomize.py``; being
first on ``PYTHONPATH`` it hides any ``sitecustomize`` the interpreter would
otherwise load (Debian's, a virtual environment's), so that one is found on
the rest of ``sys.path`` and run right after.  Nothing here may break the
user's program: a failure to instrument is one line on stderr, never an
exception.
"""


def _boot() -> None:
    try:
        from execscope.inject import boot

        boot()
    except Exception as exc:  # the program must run even if we cannot watch it
        import sys

        sys.stderr.write("execscope: instrumentation disabled in this process: %s: %s\n"
                         % (type(exc).__name__, exc))


def _chain() -> None:
    """Run the sitecustomize this file hides, if there is one."""
    import importlib.machinery
    import importlib.util
    import os
    import sys

    here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    rest = [p for p in sys.path if os.path.realpath(os.path.abspath(p or ".")) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.stderr.write("Error in sitecustomize; set PYTHONVERBOSE for traceback:\n%s: %s\n"
                         % (type(exc).__name__, exc))


_boot()
_chain()
