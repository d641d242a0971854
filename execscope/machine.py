"""What CPUs this process may really use (claim C4).

``os.cpu_count()`` counts the logical CPUs of the machine. A process may be
allowed fewer: its affinity mask (``taskset``, ``docker --cpuset-cpus``) and a
cgroup CPU quota (``docker --cpus``, Kubernetes limits) both cut the real
parallelism.  ThreadPoolExecutor's default ``max_workers`` follows
``os.cpu_count()`` before 3.13 and ``os.process_cpu_count()`` (affinity only,
never the quota) from 3.13 on, so a container can be told it has 64 CPUs while
its quota grants 2.

Standard library only: the runner imports this under any interpreter.

On a 16-CPU machine in a container run with ``--cpus 2``, ``cpu_info()``
gives logical_cpus 16, affinity_cpus 16, cgroup_cpu_limit 2.0 and
usable_cpus 2.  Here, whatever the machine:

    >>> info = cpu_info()
    >>> 1 <= info["usable_cpus"] <= info["logical_cpus"]
    True
    >>> info["usable_cpus"] == usable_cpus(info["logical_cpus"], info["affinity_cpus"], info["cgroup_cpu_limit"])
    True
"""

from __future__ import annotations

import math
import os

CGROUP_ROOT = "/sys/fs/cgroup"
# cgroup v1 mounts the cpu controller alone or together with cpuacct
_V1_CPU_MOUNTS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


def parse_cpu_max(text: str) -> float | None:
    """Parse cgroup v2 ``cpu.max`` ("max 100000" or "200000 100000").

    >>> parse_cpu_max("200000 100000")
    2.0
    >>> parse_cpu_max("max 100000") is None
    True
    """
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def _own_cgroups() -> tuple:
    """(cgroup v2 path, cgroup v1 cpu path) of this process, each relative to
    its hierarchy's root ("/docker/abc"), or None where it has none."""
    v2 = v1 = None
    for line in (_read("/proc/self/cgroup") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            v2 = parts[2].rstrip("/") or "/"
        elif "cpu" in parts[1].split(","):
            v1 = parts[2].rstrip("/") or "/"
    return v2, v1


def _up_from(path: str, root: str):
    """``root + path``, then each parent up to ``root`` itself."""
    here = (root + path).rstrip("/")
    while True:
        yield here
        if len(here) <= len(root):
            return
        here = os.path.dirname(here)


def _v1_quota(directory: str) -> float | None:
    quota, period = _read(directory + "/cpu.cfs_quota_us"), _read(directory + "/cpu.cfs_period_us")
    try:
        if quota and period and int(quota) > 0 and int(period) > 0:
            return int(quota) / int(period)
    except ValueError:
        pass
    return None


def cgroup_cpu_limit() -> float | None:
    """CPUs granted by the cgroup quota, or None when there is no quota.

    Walks from this process's own cgroup up to the root of its hierarchy (the
    tightest quota on the path applies), in cgroup v2 and, where the cpu
    controller is mounted there, in cgroup v1 (a host without cgroup
    namespaces shows a container its own cgroup's path, not "/").
    """
    limits = []
    v2, v1 = _own_cgroups()
    if v2 is not None:
        for directory in _up_from(v2, CGROUP_ROOT):
            limit = parse_cpu_max(_read(directory + "/cpu.max") or "")
            if limit is not None:
                limits.append(limit)
    if v1 is not None:
        for mount in _V1_CPU_MOUNTS:
            root = CGROUP_ROOT + "/" + mount
            if _read(root + "/cpu.cfs_period_us") is None:
                continue
            for directory in _up_from(v1, root):
                limit = _v1_quota(directory)
                if limit is not None:
                    limits.append(limit)
            break
    return min(limits) if limits else None


def affinity_cpus() -> int | None:
    getter = getattr(os, "sched_getaffinity", None)
    if getter is None:
        return None
    try:
        return len(getter(0))
    except OSError:
        return None


def usable_cpus(logical: int, affinity: int | None, quota: float | None) -> int:
    """The parallelism this process can actually get: min of the three.

    >>> usable_cpus(16, 16, 2.5)
    3
    >>> usable_cpus(8, 4, None)
    4
    """
    usable = affinity if affinity else logical
    if quota is not None:
        usable = min(usable, max(1, math.ceil(quota)))
    return max(1, usable)


def cpu_info() -> dict:
    logical = os.cpu_count() or 1
    affinity = affinity_cpus()
    quota = cgroup_cpu_limit()
    process_cpu_count = getattr(os, "process_cpu_count", None)
    return {
        "logical_cpus": logical,
        "affinity_cpus": affinity,
        "cgroup_cpu_limit": quota,
        "usable_cpus": usable_cpus(logical, affinity, quota),
        # What this interpreter's executors use to size their defaults.
        "interpreter_cpu_count": process_cpu_count() if process_cpu_count else logical,
    }
