"""``execscope doctor``: what works on this machine, and how to fix what does not."""

from __future__ import annotations

import multiprocessing
from typing import List

from .interpreters import discovered, probe
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
    others = [i["path"] + (" (free-threaded)" if i["free_threaded_build"] else "")
              for i in discovered() if i["path"] != info["path"]]
    if others:
        lines.append("interpreters  " + ", ".join(others) + "  (use --python PATH)")
    return lines
