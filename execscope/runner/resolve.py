"""Turn a workload spec into a Workload: a built-in name, ``pkg.module:function``
or ``path/to/file.py:function`` (the name may also be a ``Workload`` object
defined there, with its own parameters, ``prepare`` and explanation).

Used by the runner (in the chosen interpreter) and by the CLI for early
validation; errors are ``SpecError`` with a one-line message for the user.
Standard library only, Python 3.9 syntax.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from dataclasses import replace
from typing import Any, Callable, Dict, Tuple

from execscope.workloads import catalog
from execscope.workloads.base import Param, ParamError, Workload


class SpecError(ValueError):
    """The workload spec cannot be resolved: bad name, module, file or function."""


def is_custom(spec: str) -> bool:
    return ":" in spec


def resolve(spec: str) -> Workload:
    if not is_custom(spec):
        found = catalog()
        if spec in found:
            return found[spec]
        if spec.endswith(".py") or os.sep in spec:
            raise SpecError(
                "%s is a file, not a workload: to profile it as a program, run "
                "'execscope run -- python %s'; to run one of its functions per task, give %s:FUNCTION"
                % (spec, spec, spec))
        raise SpecError(
            "unknown workload %r (built-in: %s; or give module:function or file.py:function)"
            % (spec, ", ".join(found))
        )
    target = load_function(spec)
    if isinstance(target, Workload):
        # A whole workload defined in the user's own file or module.
        return replace(target, name=spec, tags=tuple(target.tags) + ("custom",))
    return custom_workload(spec, target)


def load_function(spec: str) -> Callable[..., Any]:
    target, _, name = spec.rpartition(":")
    if not target or not name:
        raise SpecError("workload %r: expected module:function or file.py:function" % spec)
    if target.endswith(".py") or os.sep in target:
        module = _load_file(target)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise SpecError("workload %r: cannot import module %r (%s)" % (spec, target, exc)) from None
        except Exception as exc:  # the module itself raised while importing
            raise SpecError("workload %r: importing %r raised %s: %s"
                            % (spec, target, type(exc).__name__, exc)) from None
    fn = getattr(module, name, None)
    if fn is None:
        raise SpecError("workload %r: %r has no function %r" % (spec, target, name))
    if not callable(fn) and not isinstance(fn, Workload):
        raise SpecError("workload %r: %r is not callable" % (spec, name))
    return fn


def _load_file(path: str) -> Any:
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise SpecError("workload file %s does not exist" % path)
    directory, filename = os.path.split(path)
    module_name = os.path.splitext(filename)[0]
    if not module_name.isidentifier():
        raise SpecError("workload file %s: the file name must be a Python identifier" % path)
    # Import it under its own name from its directory, so that process workers
    # (fork, spawn, forkserver) can unpickle its functions by reference.
    if directory not in sys.path:
        sys.path.insert(0, directory)
    existing = sys.modules.get(module_name)
    if existing is not None and os.path.abspath(getattr(existing, "__file__", "") or "") != path:
        raise SpecError("workload file %s: a module named %r is already imported" % (path, module_name))
    try:
        return importlib.import_module(module_name)
    except SyntaxError as exc:
        where = "" if not exc.filename or os.path.abspath(exc.filename) == path else " in %s" % exc.filename
        raise SpecError("workload file %s: syntax error%s at line %s: %s"
                        % (path, where, exc.lineno, exc.msg)) from None
    except Exception as exc:
        raise SpecError("workload file %s raised %s on import: %s" % (path, type(exc).__name__, exc)) from None


def _param_for(name: str, default: Any) -> Param:
    if isinstance(default, bool):
        return Param(name, bool, default, "")
    if isinstance(default, (int, float, str)):
        return Param(name, type(default), default, "")
    return Param(name, str, default, "")


def custom_workload(spec: str, fn: Callable[..., Any]) -> Workload:
    """A Workload for ``fn(i, **params)``; parameters come from its signature."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        signature = None
    params: Tuple[Param, ...] = ()
    accepts_any = True
    if signature is not None:
        positional = [p for p in signature.parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if not positional and not any(p.kind == p.VAR_POSITIONAL for p in signature.parameters.values()):
            raise SpecError("workload %r: the function must accept the task index as its first argument" % spec)
        accepts_any = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
        params = tuple(
            _param_for(p.name, p.default)
            for p in list(signature.parameters.values())[1:]
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is not p.empty
        )
    doc = inspect.getdoc(fn) or "A custom workload."
    workload = Workload(
        name=spec,
        summary=doc.splitlines()[0],
        explanation=doc,
        claims=(),
        expect="",
        task=fn,
        params=params,
        default_tasks=100,
        tags=("custom", "any-params") if accepts_any else ("custom",),
    )
    return workload


def resolve_params(workload: Workload, given: Dict[str, str]) -> Dict[str, Any]:
    """Parse --param values; custom functions with **kwargs take any name."""
    if "any-params" in workload.tags:
        known = {p.name for p in workload.params}
        values = workload.resolve_params({k: v for k, v in given.items() if k in known})
        for key, text in given.items():
            if key not in known:
                values[key] = _guess(text)
        return values
    return workload.resolve_params(given)


def _guess(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


__all__ = ["ParamError", "SpecError", "custom_workload", "is_custom", "load_function",
           "resolve", "resolve_params"]
