"""``execscope doctor``: what works on this machine, and how to fix what does not."""

from __future__ import annotations

import multiprocessing
from typing import List

from .interpreters import PYTHONS, cached_python, discovered, probe
from .machine import cpu_info


def report_lines() -> List[str]:
    info = probe(None)
    cpus = cpu_info()
    lines = [
        "interpreter   %s (Python %s, GIL %s, switch interval %.1f ms)" % (
            info["path"], ".".join(map(str, info["version"])),
            "enabled" if info["gil_enabled"] else "disabled", info["switch_interval_s"] * 1000),
        "cpus          %d logical, %s in affinity, cgroup quota %s -> %d usable" % (
            cpus["logical_cpus"], cpus["affinity_cpus"],
            "none" if cpus["cgroup_cpu_limit"] is None else "%.2f" % cpus["cgroup_cpu_limit"],
            cpus["usable_cpus"]),
        "start methods %s (default %s)" % (", ".join(multiprocessing.get_all_start_methods()),
                                          info["default_start_method"]),
    ]
    try:
        from .sampling.gil import doctor_lines
    except ImportError:
        lines.append("gil sampling  not available in this build")
    else:
        lines.extend(doctor_lines())
    lines.extend(interpreter_lines(info["path"]))
    return lines


_METHODS = {
    "flags": "GIL from the interpreter's own thread-state flags",
    "py-spy": "GIL from py-spy",
    "disabled": "no GIL (free-threaded)",
}


def interpreter_lines(current: str) -> List[str]:
    """One line per other interpreter found (``--python PATH``), with how its
    runs get their GIL figures; and the ``make pythons`` ones that are missing."""
    try:
        from .sampling.gil import gil_method
    except ImportError:
        gil_method = None
    lines = []
    for i in discovered():
        if i["path"] == current:
            continue
        kind = " free-threaded" if i["free_threaded_build"] else ""
        method = _METHODS[gil_method(i)] if gil_method else "GIL not sampled in this build"
        lines.append("  %s (%s%s): %s" % (i["path"], ".".join(map(str, i["version"])), kind, method))
    for name in sorted(PYTHONS):
        path, why = cached_python(name)
        if path is None:
            lines.append("  %s: %s" % (name, why))
    if lines:
        lines.insert(0, "interpreters  (use --python PATH)")
    return lines
