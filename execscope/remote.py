"""Loading the agent into a running process with ``sys.remote_exec`` (PEP 768, CPython 3.14+).

    execscope (attach.py)                       target process (3.14+)
    ─────────────────────                       ──────────────────────
    run_dir (0700): py/execscope ─► the package
                    telemetry.sock ◄─────────── at its next safe point, runs
    boot dir (0700): boot.py (0600, O_EXCL)     boot.py: imports
    helper: TARGET_PYTHON -I -c HELPER PID      execscope.inject.remote from
            boot.py  (sys.remote_exec)          run_dir/py, stdlib from its own
                                                stdlib only; attach(run_dir)

The helper runs under the target's own interpreter (remote_exec needs the
same version).  Everything the target reads is in the run's private
directory, written before the helper runs.  While the boot script imports,
a finder on ``sys.meta_path`` answers for the importing thread only and
looks only in ``py/`` and the standard library, so a module in the target's
working directory (a ``socket.py``, a ``json.py``) is never picked up by
accident; other threads of the program import as usual meanwhile.

``eligible`` says, before anything is tried, why a target cannot be
instrumented (version, free-threaded, remote debugging disabled); ``inject``
runs the helper and says why it failed (permission, disabled, not a safe
point in time).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Any, Mapping, Optional, Sequence, Tuple

MIN_VERSION = (3, 14)
HELPER_TIMEOUT_S = 10.0

HELPER = r"""import sys
try:
    sys.remote_exec(int(sys.argv[1]), sys.argv[2])
except BaseException as exc:
    print("%s: %s" % (type(exc).__name__, exc))
    sys.exit(1)
"""

BOOT = r'''def _execscope_boot(run_dir, boot_dir):
    import os, sys, threading
    from importlib.machinery import PathFinder

    stdlib = os.path.dirname(os.__file__)
    safe = [os.path.join(run_dir, "py"), stdlib, os.path.join(stdlib, "lib-dynload")]
    me = threading.get_ident()

    class OnlyOurs:
        def find_spec(self, name, path=None, target=None):
            if threading.get_ident() != me or name in sys.builtin_module_names:
                return None
            spec = PathFinder.find_spec(name, path if path is not None else safe, target)
            if spec is None and path is None:
                raise ModuleNotFoundError("execscope's agent imports only its own modules and the "
                                          "standard library, not %%s" %% name, name=name)
            return spec

    finder = OnlyOurs()
    sys.meta_path.insert(0, finder)
    try:
        from execscope.inject import remote
        remote.attach(run_dir)
        status = "ok"
    except BaseException as exc:
        status = "%%s: %%s" %% (type(exc).__name__, exc)
    finally:
        sys.meta_path.remove(finder)
    try:
        os.unlink(os.path.join(boot_dir, "boot.py"))
        if not os.path.isdir(run_dir):  # too late: execscope has gone, nobody reads the status
            os.rmdir(boot_dir)
            return
        fd = os.open(os.path.join(boot_dir, "status"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, status.encode("utf-8", "replace"))
        os.close(fd)
    except OSError:
        pass


_execscope_boot(%(run_dir)r, %(boot_dir)r)
del _execscope_boot
'''


def eligible(info: Mapping[str, Any], environ: Optional[Mapping[str, str]], cmdline: Sequence[str]) -> str:
    """"" when the target can be instrumented, else why not (one line)."""
    version = tuple(info.get("version") or (0, 0, 0))[:2]
    if info.get("implementation", "cpython") != "cpython":
        return "%s is not CPython: sys.remote_exec is CPython's" % info.get("implementation")
    if version < MIN_VERSION:
        return ("the target runs Python %s; loading the instrumentation into a running process needs "
                "CPython 3.14+ (sys.remote_exec)" % ".".join(map(str, version)))
    if info.get("free_threaded_build") or not info.get("gil_enabled", True):
        return "the target is a free-threaded build: the injected instrumentation is not made for it"
    if environ is not None and environ.get("PYTHON_DISABLE_REMOTE_DEBUG"):
        return "remote debugging is disabled in the target (PYTHON_DISABLE_REMOTE_DEBUG is set)"
    for i, arg in enumerate(cmdline[1:], 1):
        if arg in ("-X", "-Xdisable_remote_debug") or arg.startswith("-Xdisable_remote_debug"):
            if arg != "-X" or (i + 1 < len(cmdline) and cmdline[i + 1].startswith("disable_remote_debug")):
                return "remote debugging is disabled in the target (-X disable_remote_debug)"
        if not arg.startswith("-"):
            break
    return ""


def boot_script(run_dir: str) -> Tuple[str, str]:
    """Write the boot script into a directory of its own (0700): (its path, the
    directory).  Not in the run directory: a target that reaches its safe point
    only after execscope has gone (blocked in C until then) still reads the
    script, which then removes itself and its directory without a word."""
    boot_dir = tempfile.mkdtemp(prefix="execscope-boot-")
    path = os.path.join(boot_dir, "boot.py")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(BOOT % {"run_dir": run_dir, "boot_dir": boot_dir})
    return path, boot_dir


def boot_status(boot_dir: str) -> Optional[str]:
    """What the boot script said once it ran ("ok" or the error), None before."""
    try:
        with open(os.path.join(boot_dir, "status"), "rb") as fh:
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return None


def remove_boot(boot_dir: str) -> None:
    """The boot directory, once its script has run or can no longer be run."""
    shutil.rmtree(boot_dir, ignore_errors=True)


def inject(python: str, pid: int, script: str) -> str:
    """Ask the target to run ``script`` at its next safe point: "" when asked,
    else why not (one line)."""
    try:
        done = subprocess.run([python, "-I", "-c", HELPER, str(pid), script], capture_output=True, text=True,
                              timeout=HELPER_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "sys.remote_exec did not return within %gs" % HELPER_TIMEOUT_S
    except OSError as exc:
        return "cannot run the target's interpreter %s (%s)" % (python, exc.strerror or exc)
    if done.returncode == 0:
        return ""
    text = (done.stdout.strip() or done.stderr.strip() or "exit code %d" % done.returncode).splitlines()[-1]
    return failure(text, pid)


def failure(text: str, pid: int) -> str:
    """One line for what the helper printed."""
    low = text.lower()
    if "not enabled" in low or "disabled" in low:
        return "remote debugging is disabled in the target (PYTHON_DISABLE_REMOTE_DEBUG, -X disable_remote_debug " \
               "or a build without it)"
    if "permission" in low or "not permitted" in low:
        return ("not permitted to debug pid %d (another user's process, or ptrace restrictions: "
                "/proc/sys/kernel/yama/ptrace_scope, CAP_SYS_PTRACE): %s" % (pid, text))
    return "sys.remote_exec failed: %s" % text
