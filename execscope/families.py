"""The executor families execscope can run and instrument, in one table.

Each family is a kind name (``--executor KIND``, ``ExecutorView.kind``) with
what the rest of execscope needs to know about it:

    processes      its workers are processes: tasks cross a pipe (pickling,
                   transfer), workers can crash, fork copies threads
    isolated       tasks cross into another interpreter (a process or a
                   subinterpreter): pickled there and back, timed in the worker
                   (every process family is, without saying so)
    min_python     the oldest CPython that has it
    start_methods  ``--start-method`` applies (multiprocessing contexts)
    requires       third-party modules the runner imports, only when chosen
    extra          the ``pip install execscope[EXTRA]`` that brings them
    adapter        the runner module that builds it (``build(config, run_dir)``)

``serial``, ``thread`` and ``process`` are built by ``runner.main`` itself;
every other family lives in a module of its own under ``execscope.runner``.
Standard library only, Python 3.9 syntax: the runner imports it.
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional, Sequence, Tuple


class Family(NamedTuple):
    name: str
    processes: bool = False
    isolated: bool = False
    min_python: Tuple[int, int] = (3, 9)
    start_methods: bool = False
    requires: Tuple[str, ...] = ()
    extra: Optional[str] = None
    adapter: Optional[str] = None


FAMILIES: Dict[str, Family] = {
    "serial": Family("serial"),
    "thread": Family("thread"),
    "process": Family("process", processes=True, start_methods=True),
    "pool": Family("pool", processes=True, start_methods=True, adapter="execscope.runner.mp_pool"),
    "loky": Family("loky", processes=True, requires=("loky",), extra="loky",
                   adapter="execscope.runner.loky_pool"),
    "dask": Family("dask", processes=True, requires=("distributed",), extra="dask",
                   adapter="execscope.runner.dask_pool"),
    # concurrent.futures.InterpreterPoolExecutor: worker threads, each running
    # its tasks in a subinterpreter of its own (one GIL per interpreter)
    "interpreter": Family("interpreter", isolated=True, min_python=(3, 14),
                          adapter="execscope.runner.interp_pool"),
}
KINDS = tuple(FAMILIES)


def family(kind: Optional[str]) -> Family:
    return FAMILIES.get(kind or "", Family(kind or "?"))


def uses_processes(kind: Optional[str]) -> bool:
    """Workers are processes (ProcessPoolExecutor, multiprocessing.Pool, loky...)."""
    return family(kind).processes


def is_isolated(kind: Optional[str]) -> bool:
    """Tasks cross into another interpreter: pickled, transferred, timed in the worker."""
    fam = family(kind)
    return fam.isolated or fam.processes


def takes_start_method(kind: Optional[str]) -> bool:
    return family(kind).start_methods


def supports(kind: str, executors: Sequence[str]) -> bool:
    """A workload written for ``executors`` runs under ``kind``: every process
    family runs what ProcessPoolExecutor runs (picklable module-level tasks)."""
    return kind in executors or (is_isolated(kind) and "process" in executors)


def missing_requirement(kind: str) -> Optional[str]:
    """One line naming the extra to install when ``kind`` cannot be imported here, else None."""
    fam = family(kind)
    for module in fam.requires:
        try:
            __import__(module)
        except ImportError:
            return ("--executor %s needs the %s package: pip install 'execscope[%s]'"
                    % (kind, module, fam.extra or kind))
    return None


def installed(kind: str) -> bool:
    """Are the modules ``kind`` needs importable here?  Looked up, not
    imported (``distributed`` takes a second to import)."""
    import importlib.util

    return all(importlib.util.find_spec(module) is not None for module in family(kind).requires)


def offered(executors: Sequence[str], version: Sequence[int]) -> Tuple[str, ...]:
    """The kinds a picker offers for a workload written for ``executors``, on
    an interpreter of ``version``: those that run it, are installed and are
    not too new for the interpreter, in the table's order.

    >>> offered(("serial", "thread", "process"), (3, 11))[:4]
    ('serial', 'thread', 'process', 'pool')
    >>> "interpreter" in offered(("serial", "thread", "process"), (3, 11))
    False
    >>> offered(("thread",), (3, 14))
    ('thread',)
    """
    return tuple(kind for kind in KINDS
                 if supports(kind, executors) and installed(kind)
                 and tuple(version[:2]) >= family(kind).min_python)


def python_problem(kind: str, version: Sequence[int], executable: str) -> Optional[str]:
    """One line when the run's interpreter (``version``) is too old for ``kind``, else None."""
    need = family(kind).min_python
    if tuple(version[:2]) >= tuple(need):
        return None
    return ("--executor %s needs CPython %d.%d or newer; %s is %s"
            % (kind, need[0], need[1], executable, ".".join(str(v) for v in version[:3])))
