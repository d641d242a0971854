"""Keeping every process of a run findable and killable (Linux; no-ops elsewhere).

* The runner becomes a *child subreaper*: a grandchild that double-forks or
  calls ``setsid`` to escape is re-parented to the runner instead of init, so
  it stays in the runner's tree where the session finds it.
* Process workers ask for ``PR_SET_PDEATHSIG``: the kernel signals them when
  their parent (the runner, or the fork server) dies, and they die
  (``die_with_parent``).
* When the session is gone, the runner kills its whole tree, read from
  ``/proc``, then its process group, then itself.

Standard library only (ctypes), Python 3.9 syntax.
"""

from __future__ import annotations

import os
import signal
import sys
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a spawned worker ~5 ms to import
    from typing import Dict, List

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except Exception:
        return False


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    return _prctl(PR_SET_PDEATHSIG, int(sig))


def die_with_parent() -> bool:
    """Exit as soon as this process's parent dies (process workers).

    ``PR_SET_PDEATHSIG`` fires when the *thread* that created this process
    ends, not only its process: a ``multiprocessing.Pool`` starts replacement
    workers from its worker-handler thread, which ends when the pool closes.
    A plain SIGKILL then kills a live replacement, maybe while it holds the
    lock every worker takes to read its next task, and the pool's other
    workers wait on that lock forever (its ``join`` never returns).  So the
    signal is caught, and the worker dies only when its parent process is
    really gone (``getppid`` changed: it was re-parented).  The handler runs
    in the main thread, between bytecodes or when a blocking read is
    interrupted; called from another thread, a plain SIGKILL is used.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        return set_parent_death_signal()
    parent = os.getppid()
    sig = signal.SIGRTMIN + 5

    def on_parent_thread_gone(signum: int, frame: object) -> None:
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    signal.signal(sig, on_parent_thread_gone)
    return set_parent_death_signal(sig)


def become_subreaper() -> bool:
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def _parents() -> Dict[int, int]:
    """pid -> ppid for every process we can see in /proc."""
    out = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        rest = data[data.rfind(b")") + 2:].split()
        if len(rest) > 1:
            out[int(name)] = int(rest[1])
    return out


def descendants(pid: int) -> List[int]:
    parents = _parents()
    children: Dict[int, List[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), ()):
            found.append(child)
            stack.append(child)
    return found


_INFRASTRUCTURE = (b"multiprocessing.resource_tracker", b"multiprocessing.forkserver")


def kill_leftovers() -> int:
    """At the end of a run: kill whatever the workload left running below us
    (daemons, setsid'd grandchildren re-parented to us as subreaper).
    multiprocessing's resource tracker and fork server are spared: they exit
    by themselves when we do, and the tracker still has cleaning up to do."""
    killed = 0
    me = os.getpid()
    for pid in descendants(me):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as fh:
                cmdline = fh.read()
        except OSError:
            continue
        if any(name in cmdline for name in _INFRASTRUCTURE) and _parents().get(pid) == me:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except OSError:
            pass
    return killed


def kill_tree_and_exit(code: int = 3) -> None:
    """Nobody is listening any more: take every process of this run down."""
    me = os.getpid()
    for pid in descendants(me):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.killpg(os.getpgid(0), signal.SIGKILL)  # includes this process
    except OSError:
        pass
    os._exit(code)
