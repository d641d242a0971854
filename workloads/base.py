"""How a workload describes itself.

A workload is a task function called once per task as ``task(i, **params,
**context)``, plus what a person needs to understand it: a one-paragraph
explanation, the article's claims it demonstrates (see the claims table) and
what the article expects to happen.  ``prepare`` runs once in the runner before
the executor starts and returns extra keyword arguments for every task (a
socket server's port, a shared-memory block's name, a large payload);
``cleanup`` undoes it.

Standard library only, and Python 3.9 syntax: the runner imports this under
whatever interpreter the user picked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

EXECUTORS = ("serial", "thread", "process")


class ParamError(ValueError):
    """A --param the workload does not take, or a value of the wrong type."""


@dataclass(frozen=True)
class Param:
    name: str
    type: type
    default: Any
    help: str
    choices: Tuple[Any, ...] = ()
    minimum: Optional[float] = None
    maximum: Optional[float] = None

    def parse(self, text: Any) -> Any:
        """Convert a command-line string (or an already typed value)."""
        value = text
        if isinstance(text, str):
            try:
                if self.type is bool:
                    lowered = text.strip().lower()
                    if lowered in ("1", "true", "yes", "on"):
                        value = True
                    elif lowered in ("0", "false", "no", "off"):
                        value = False
                    else:
                        raise ValueError(text)
                elif self.type is int:
                    value = int(text.replace("_", ""), 10)
                else:
                    value = self.type(text)
            except ValueError:
                raise ParamError(
                    "--param %s=%s: expected %s" % (self.name, text, self.type.__name__)
                ) from None
        elif self.type is float and isinstance(text, int) and not isinstance(text, bool):
            value = float(text)
        if not isinstance(value, self.type) or (self.type is int and isinstance(value, bool)):
            raise ParamError("--param %s: expected %s" % (self.name, self.type.__name__))
        if self.choices and value not in self.choices:
            raise ParamError(
                "--param %s=%s: choose one of %s"
                % (self.name, value, ", ".join(str(c) for c in self.choices))
            )
        if self.type in (int, float):
            if value != value:  # NaN
                raise ParamError("--param %s: not a number" % self.name)
            if self.minimum is not None and value < self.minimum:
                raise ParamError("--param %s=%s: must be >= %s" % (self.name, value, self.minimum))
            if self.maximum is not None and value > self.maximum:
                raise ParamError("--param %s=%s: must be <= %s" % (self.name, value, self.maximum))
        return value


@dataclass(frozen=True)
class Workload:
    name: str
    summary: str
    explanation: str
    claims: Tuple[str, ...]
    expect: str
    task: Callable[..., Any]
    params: Tuple[Param, ...] = ()
    executors: Tuple[str, ...] = EXECUTORS
    default_tasks: int = 100
    # "submit": one executor.submit per task; "map": executor.map with the
    # workload's ``chunksize`` parameter.
    mode: str = "submit"
    prepare: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None
    cleanup: Optional[Callable[[Dict[str, Any]], None]] = None
    # Environment for the runner, from the parameters (BLAS thread counts).
    env: Optional[Callable[[Dict[str, Any]], Dict[str, str]]] = None
    # Imports the runner's interpreter must have (numpy); checked before start.
    requires: Tuple[str, ...] = ()
    # The executor the article expects to win, for the compare verdict.
    expected_best: str = ""
    tags: Tuple[str, ...] = field(default_factory=tuple)
    # What the article expects instead under a free-threaded build with the
    # GIL disabled (C14), where that differs; "" keeps the above.
    expected_best_without_gil: str = ""
    expect_without_gil: str = ""

    def expectation(self, gil_enabled: bool = True) -> Tuple[str, str]:
        """(the executor expected to win, the expectation in words) for an
        interpreter with or without the GIL."""
        if not gil_enabled and self.expected_best_without_gil:
            return self.expected_best_without_gil, self.expect_without_gil or self.expect
        return self.expected_best, self.expect

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise ParamError(
            "workload %r takes no parameter %r (it takes: %s)" % (self.name, name, known)
        )

    def resolve_params(self, given: Dict[str, Any]) -> Dict[str, Any]:
        """Defaults overlaid with the given values, each parsed and checked."""
        values = {p.name: p.default for p in self.params}
        for name, text in given.items():
            values[name] = self.param(name).parse(text)
        return values
