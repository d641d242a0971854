"""May this process trace (ptrace) another one here, and if not, how to fix it.

Sampling a process with py-spy means attaching to it (``ptrace``) or reading
its memory (``process_vm_readv``); Linux grants both under the same rule:

- root (more exactly ``CAP_SYS_PTRACE``) may, unless Yama's
  ``kernel.yama.ptrace_scope`` is 3;
- otherwise only a process of the same user, and with Yama's
  ``ptrace_scope``: 0 any such process, 1 (Ubuntu's default) only a
  descendant or a process that named us with ``prctl(PR_SET_PTRACER)`` (the
  runner and its workers do, see ``runner/gilprobe.py``), 2 nobody but
  root, 3 nobody at all until reboot;
- containers usually drop ``CAP_SYS_PTRACE`` and may forbid the calls with
  seccomp.

Everything here reads ``/proc``; nothing changes the system.
"""

from __future__ import annotations

import os
from typing import Optional

YAMA_PATH = "/proc/sys/kernel/yama/ptrace_scope"
CAP_SYS_PTRACE = 19


def ptrace_scope(path: str = YAMA_PATH) -> Optional[int]:
    """Yama's ptrace_scope, or None where the kernel has no Yama module."""
    try:
        with open(path) as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def has_cap_sys_ptrace(status_path: str = "/proc/self/status") -> bool:
    try:
        with open(status_path) as fh:
            for line in fh:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_SYS_PTRACE & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False


def in_container() -> bool:
    if os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"):
        return True
    try:
        with open("/proc/1/cgroup") as fh:
            text = fh.read()
        return any(word in text for word in ("docker", "kubepods", "containerd", "lxc"))
    except OSError:
        return False


def scope_text(scope: Optional[int]) -> str:
    if scope is None:
        return "no Yama module: a process of the same user may be traced"
    return {
        0: "0 (classic: a process of the same user may be traced)",
        1: "1 (restricted: only descendants, or processes that allow it; the runner allows execscope)",
        2: "2 (admin-only: only root / CAP_SYS_PTRACE may trace)",
        3: "3 (no attach: nothing may be traced until reboot)",
    }.get(scope, "%d (unknown value)" % scope)


def denial_advice(target_uid: Optional[int] = None, scope: Optional[int] = None,
                  euid: Optional[int] = None, cap: Optional[bool] = None,
                  container: Optional[bool] = None) -> str:
    """One sentence: why attaching is refused here, and what fixes it.

    Every fact can be passed in (tests); by default it is read from /proc.
    """
    scope = ptrace_scope() if scope is None else scope
    euid = os.geteuid() if euid is None else euid
    cap = has_cap_sys_ptrace() if cap is None else cap
    container = in_container() if container is None else container
    if scope == 3:
        return ("kernel.yama.ptrace_scope is 3, which forbids attaching until the next reboot: "
                "boot with a lower value to sample the GIL")
    if target_uid is not None and target_uid != euid and not cap:
        return ("the process belongs to another user (uid %d): run execscope as that user, or as root"
                % target_uid)
    if scope == 2 and not cap:
        return ("kernel.yama.ptrace_scope is 2 (only root may attach): run as root, "
                "or `sudo sysctl kernel.yama.ptrace_scope=1`")
    if container and not cap:
        return ("this container lacks CAP_SYS_PTRACE: start it with `--cap-add SYS_PTRACE` "
                "(docker/podman), or run execscope outside it")
    if scope == 1:
        return ("kernel.yama.ptrace_scope is 1 and the process did not allow execscope to attach: "
                "`sudo sysctl kernel.yama.ptrace_scope=0`, or run as root")
    return ("the kernel refused to let py-spy attach (a seccomp or LSM policy?): run as root, "
            "or allow ptrace for this user")
