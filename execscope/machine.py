"""What CPUs this process may really use (claim C4).

``os.cpu_count()`` counts the logical CPUs of the machine. A process may be
allowed fewer: its affinity mask (``taskset``, ``docker --cpuset-cpus``) and a
cgroup CPU quota (``docker --cpus``, Kubernetes limits) both cut the real
parallelism.  ThreadPoolExecutor's default ``max_workers`` follows
``os.cpu_count()`` before 3.13 and ``os.process_cpu_count()`` (affinity only,
never the quota) from 3.13 on, so a container can be told it has 64 CPUs while
its quota grants 2.

Standard library only: the runner imports this under any interpreter.

    >>> info = cpu_info()
    >>> info["logical_cpus"], info["affinity_cpus"], info["cgroup_cpu_limit"]
    (16, 16, 2.0)
    >>> info["usable_cpus"]
    2
"""

from __future__ import annotations

import math
import os

_CGROUP2_CPU_MAX = "/sys/fs/cgroup/cpu.max"
_CGROUP1_QUOTA = "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"
_CGROUP1_PERIOD = "/sys/fs/cgroup/cpu/cpu.cfs_period_us"


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


def _own_cgroup_dir() -> str | None:
    """The cgroup v2 directory of this process, when the hierarchy is mounted."""
    text = _read("/proc/self/cgroup")
    if not text:
        return None
    for line in text.splitlines():
        if line.startswith("0::"):
            return "/sys/fs/cgroup" + line[3:].rstrip("/")
    return None


def cgroup_cpu_limit() -> float | None:
    """CPUs granted by the cgroup quota, or None when there is no quota.

    Walks from this process's own cgroup up to the root (the tightest quota
    on the path applies), then falls back to cgroup v1.
    """
    limits = []
    own = _own_cgroup_dir()
    if own:
        path = own
        while path.startswith("/sys/fs/cgroup"):
            text = _read(path + "/cpu.max")
            if text:
                limit = parse_cpu_max(text)
                if limit is not None:
                    limits.append(limit)
            if path == "/sys/fs/cgroup":
                break
            path = os.path.dirname(path)
    if not limits:
        text = _read(_CGROUP2_CPU_MAX)
        if text:
            limit = parse_cpu_max(text)
            if limit is not None:
                limits.append(limit)
    if not limits:
        quota, period = _read(_CGROUP1_QUOTA), _read(_CGROUP1_PERIOD)
        try:
            if quota and period and int(quota) > 0 and int(period) > 0:
                limits.append(int(quota) / int(period))
        except ValueError:
            pass
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
