"""Patch ``ThreadPoolExecutor`` and ``ProcessPoolExecutor`` when (and only when) they are imported.

A ``sys.meta_path`` finder wraps the loader of ``concurrent.futures.thread``
and ``concurrent.futures.process``; once CPython has executed either module,
its executor class gets four methods replaced at class level, so every
instance the program creates is covered, whoever creates it: the program,
a library, ``asyncio``'s default executor (``loop.run_in_executor(None, ...)``
and ``asyncio.to_thread``), ``compileall -j``::

    __init__   the original, then register the executor with this process's
               agent, named by where it was created (file:line)
    submit     through the executor's Tracker (timed), which calls the
               original submit; an executor the agent does not know (created
               before a fork, say) uses the original directly
    map        process pools only: chunks go through Tracker.map_chunks so a
               ``chunksize`` is honoured and every item counts as a task
               (thread pools' map calls submit, which is enough)
    shutdown   the original, and the agent learns the executor is winding down

Process pools also get the worker-side instrumentation as their initializer
(``runner.worker.init_worker``), with the program's own initializer called
from it.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable, Optional, Tuple

ATTR = "_execscope_entry"
# Other executor families are patched by modules of their own, each with a
# ``patch(module)`` run once the named module has been executed.
FAMILY_TARGETS = {
    "multiprocessing.pool": "execscope.inject.pool_hooks",
    "distributed.client": "execscope.inject.dask_hooks",
    "loky.process_executor": "execscope.inject.loky_hooks",
    "joblib.externals.loky.process_executor": "execscope.inject.loky_hooks",
    "concurrent.futures.interpreter": "execscope.inject.interp_hooks",
}
# Engines whose own thread pools (Dask's offload and task-running pools) are
# the engine's, not the program's: they are seen as the engine's executor.
ENGINE_PACKAGES = ("distributed", "dask")
_TARGETS = ("concurrent.futures.thread", "concurrent.futures.process") + tuple(FAMILY_TARGETS)
_STDLIB = os.path.dirname(os.path.abspath(os.__file__))
_CWD = os.getcwd()
_THIS_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_FUTURES_DIR = os.sep + os.path.join("concurrent", "futures") + os.sep
_MP_DIR = os.sep + "multiprocessing" + os.sep  # multiprocessing.Pool() goes through context.py


def install() -> None:
    for name in _TARGETS:
        module = sys.modules.get(name)
        if module is not None:
            _patch(name, module)
    if not all(name in sys.modules for name in _TARGETS) and not any(
            isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


class _Finder:
    """Finds the two modules with the other finders, then wraps their loader."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in _TARGETS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _PatchingLoader(spec.loader, fullname)
        return spec


class _PatchingLoader:
    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        _patch(self._name, module)

    def __getattr__(self, attr: str) -> Any:  # get_source, get_code, is_package...
        return getattr(self._loader, attr)


def _patch(name: str, module: Any) -> None:
    try:
        if name in FAMILY_TARGETS:
            import importlib

            importlib.import_module(FAMILY_TARGETS[name]).patch(module)
        elif name.endswith(".thread"):
            _patch_class(module.ThreadPoolExecutor, "thread")
        else:
            _patch_class(module.ProcessPoolExecutor, "process")
    except Exception as exc:  # an interpreter we do not understand: run unwatched
        sys.stderr.write("execscope: cannot instrument %s: %s\n" % (name, exc))


def _patch_class(cls: type, kind: str) -> None:
    if cls.__dict__.get("_execscope_patched"):
        return
    original_init, original_submit = cls.__init__, cls.submit

    if kind == "process":
        @functools.wraps(original_init)
        def __init__(self: Any, max_workers: Any = None, mp_context: Any = None,
                     initializer: Any = None, initargs: tuple = (), **kwargs: Any) -> None:
            from . import agent

            plan = agent.plan_process_pool(mp_context, initializer, initargs, kwargs)
            if plan is None:
                original_init(self, max_workers, mp_context, initializer, initargs, **kwargs)
                return
            slot_dir, init, args = plan
            original_init(self, max_workers, mp_context, init, args, **kwargs)
            agent.register(self, kind, original_submit, creation_site(self), slot_dir)
    else:
        @functools.wraps(original_init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            from . import agent

            if not made_by_an_engine():
                # a subclass that is a family of its own (InterpreterPoolExecutor: interp_hooks)
                family = getattr(type(self), "_execscope_kind", kind)
                agent.register(self, family, original_submit, creation_site(self), None)

    cls.__init__ = __init__
    patch_methods(cls)
    if kind == "process":
        original_map = cls.map

        @functools.wraps(original_map)
        def map(self: Any, fn: Callable[..., Any], *iterables: Any, timeout: Optional[float] = None,
                chunksize: int = 1, **kwargs: Any) -> Any:
            entry = _entry(self)
            if entry is None or kwargs:
                return original_map(self, fn, *iterables, timeout=timeout, chunksize=chunksize, **kwargs)
            return entry.map(fn, iterables, timeout, chunksize)

        cls.map = map
    cls._execscope_patched = True


def patch_methods(cls: type) -> None:
    """``submit`` through the executor's Tracker, ``shutdown`` telling the agent (any executor class)."""
    submit, shutdown = watched_methods(cls.submit, cls.shutdown, _entry, _entry)  # type: ignore[attr-defined]
    cls.submit = submit  # type: ignore[attr-defined]
    cls.shutdown = shutdown  # type: ignore[attr-defined]


def watched_methods(original_submit: Callable[..., Any], original_shutdown: Callable[..., Any],
                    entry_to_submit: Callable[[Any], Any],
                    entry_to_shut: Callable[[Any], Any]) -> Tuple[Callable[..., Any], Callable[..., Any]]:
    """``submit`` and ``shutdown`` replacements: a submit goes through the
    entry ``entry_to_submit(executor)`` finds (the original's when none), and
    ``shutdown`` tells the entry ``entry_to_shut`` finds that it is shutting
    down, then shut."""

    @functools.wraps(original_submit)
    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        entry = entry_to_submit(self)
        if entry is None:
            return original_submit(self, fn, *args, **kwargs)
        return entry.submit(fn, args, kwargs)

    @functools.wraps(original_shutdown)
    def shutdown(self: Any, *args: Any, **kwargs: Any) -> Any:
        entry = entry_to_shut(self)
        if entry is not None:
            entry.shutting_down = True
        try:
            return original_shutdown(self, *args, **kwargs)
        finally:
            if entry is not None:
                entry.shut = True

    return submit, shutdown


def _entry(executor: Any) -> Any:
    entry = executor.__dict__.get(ATTR)
    if entry is None or not entry.current():
        return None
    return entry


# -- where an executor was created ---------------------------------------------

def creation_site(executor: Any) -> dict:
    """``at``: the line that created the executor (outside concurrent.futures,
    past any subclass ``__init__``); ``via``: the innermost line of the
    program's own code that led there, when ``at`` is in a library (asyncio's
    default executor, compileall) and such a line exists."""
    frame: Any = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename
        if filename.startswith(_THIS_PACKAGE) or _FUTURES_DIR in filename or _MP_DIR in filename:
            frame = frame.f_back
            continue
        if code.co_name == "__init__" and frame.f_locals.get("self") is executor:
            frame = frame.f_back  # a subclass: name the line that made the instance
            continue
        break
    if frame is None:
        return {"at": "?", "function": "?", "via": None}
    at = "%s:%d" % (short_path(frame.f_code.co_filename), frame.f_lineno)
    function = frame.f_code.co_name
    via = None
    if is_library(frame.f_code.co_filename):
        outer = frame.f_back
        while outer is not None and is_library(outer.f_code.co_filename):
            outer = outer.f_back
        if outer is not None:
            via = "%s:%d" % (short_path(outer.f_code.co_filename), outer.f_lineno)
    return {"at": at, "function": function, "via": via}


def made_by_an_engine() -> bool:
    """An engine (``ENGINE_PACKAGES``) is creating this executor for itself: its
    package is among the library frames between here and the first frame of
    the program's own code (a thread or a spawned worker may have none)."""
    markers = tuple(os.sep + name + os.sep for name in ENGINE_PACKAGES)
    frame: Any = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not is_library(filename):
            return False
        if not filename.startswith(_THIS_PACKAGE) and any(m in filename for m in markers):
            return True
        frame = frame.f_back
    return False


def is_library(path: str) -> bool:
    """The standard library, installed packages, frozen modules."""
    if path.startswith("<frozen") or path.startswith(_THIS_PACKAGE):
        return True
    return path.startswith(_STDLIB + os.sep) or "site-packages" in path or "dist-packages" in path


def short_path(path: str) -> str:
    """Relative to the working directory, or to the standard library, else as is."""
    if path.startswith(_CWD + os.sep):
        return path[len(_CWD) + 1:]
    if path.startswith(_STDLIB + os.sep) and "site-packages" not in path:
        return path[len(_STDLIB) + 1:]
    return path
