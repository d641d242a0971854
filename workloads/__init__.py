"""The workload catalog: one module per family, each exporting ``WORKLOAD``.

Standard library only at import time (numpy is imported inside the numpy
workload's functions), so that ``execscope list`` is fast and any CPython the
user names with ``--python`` can import the catalog.
"""

from __future__ import annotations

from typing import Dict

from .base import Param, ParamError, Workload

_MODULES = (
    "cpu",
    "io",
    "numpy_work",
    "hash",
    "pickle_heavy",
    "shared_memory",
    "chunksize",
    "recursive_submit",
    "noop",
)


def catalog() -> Dict[str, Workload]:
    """Name -> Workload for every built-in workload, in catalog order."""
    import importlib

    found = {}
    for module in _MODULES:
        workload = importlib.import_module(__name__ + "." + module).WORKLOAD
        found[workload.name] = workload
    return found


__all__ = ["Param", "ParamError", "Workload", "catalog"]
