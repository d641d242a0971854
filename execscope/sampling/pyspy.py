"""py-spy as a sampling engine: find it, start it, read what it says.

``py-spy record --format raw --threads`` writes, when it stops (at its
``--duration`` or on SIGINT), one line per distinct (thread, stack) with the
number of samples that saw it, outermost frame first::

    thread (8272): worker_0;0x7f44 (libc.so.6);thread_run (libpython3.11.so.1.0);
        Thread._bootstrap (threading.py);...;cpu_task (cpu.py);pthread_cond_timedwait (libc.so.6);0x7f44 (libc.so.6) 33

The number in ``thread (N)`` is the native thread id (what ``threading.get_native_id()``
returns), so samples map straight onto the worker rows.

Reading a thread's state from one native stack (``--native``)
--------------------------------------------------------------
py-spy merges native frames into the Python stack.  It drops the
interpreter's own frames (``_PyEval_EvalFrameDefault``, ``take_gil``, ...)
except a few families it keeps on purpose (``time_*``, ``lock_*``,
``PyThread_*``, ``os_*``, ``sre_*``...).  So the native frames *below the
innermost Python frame* say what the thread is doing (``classify``):

- HELD: no native frame under it: executing bytecode; or interpreter C code
  that does not block (``sre_*``, ``unicode_*``).
- WAIT: libc's ``pthread_cond_timedwait`` / ``pthread_cond_wait`` /
  ``pthread_mutex_lock`` (or a chain of unnamed libc frames: the mutex's
  futex) straight under a Python frame, or under ``time_sleep``,
  ``os_write``...: only the hidden ``take_gil`` / ``drop_gil`` get there (the
  timed wait repeats every switch interval; the untimed one is the forced
  hand-over).  The same timed wait under an extension's frame is the
  extension taking the GIL back after ``Py_BEGIN_ALLOW_THREADS``.
- IDLE: a pool worker's ``_worker`` / ``_process_worker`` waiting for a task.
- RELEASED: a named blocking libc call (``clock_nanosleep``, ``poll``,
  ``read``, ``sem_clockwait``...), or a lock's futex under ``PyThread_*``:
  the GIL was dropped first.
- EXT: an extension's or a library's code (NumPy, OpenSSL, ``_pickle``).

EXT is the one shape a stack cannot settle: NumPy and hashlib drop the GIL
around their loops, ``_pickle`` keeps it.  That is why the sampler takes
*held* from py-spy's own GIL-holder flag (``--gil``), and the stacks' HELD
count only where it has no flag.  py-spy itself reports waiting threads as
idle (their OS state is sleeping): the blind spot its users asked about.

Tested against py-spy 0.4.3 with CPython 3.9-3.13 (pyenv shared builds) and
Debian's static 3.11.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Tuple

PYSPY_ENV = "EXECSCOPE_PYSPY"

WAIT, IDLE, HELD, RELEASED, EXT = "wait", "idle", "held", "released", "ext"

# Where the interpreter's GIL code ends up in libc.
_GIL_LIBC_CALLS = {
    "pthread_cond_timedwait", "pthread_cond_wait", "pthread_cond_clockwait",
    "pthread_mutex_lock", "__pthread_mutex_lock", "___pthread_mutex_lock",
    "__lll_lock_wait", "__GI___lll_lock_wait", "__futex_abstimed_wait_common",
}
_TIMED_GIL_WAIT = {"pthread_cond_timedwait", "pthread_cond_clockwait"}
# Named libc calls that block (the GIL is dropped around them).
_BLOCKING_LIBC = {
    "clock_nanosleep", "__clock_nanosleep", "nanosleep", "__nanosleep", "usleep", "sleep", "pause",
    "select", "__select", "pselect", "pselect6", "poll", "__poll", "ppoll", "epoll_wait", "epoll_pwait",
    "read", "__read", "__libc_read", "readv", "pread64", "__pread64", "write", "__write",
    "__libc_write", "writev", "pwrite64", "recv", "__recv", "__libc_recv", "recvfrom", "recvmsg",
    "send", "__send", "__libc_send", "sendto", "sendmsg", "accept", "accept4", "connect",
    "__libc_connect", "sem_wait", "sem_timedwait", "sem_clockwait", "__new_sem_wait", "pthread_join",
    "waitpid", "__waitpid", "wait4", "__wait4", "waitid", "sigwait", "sigtimedwait", "sigwaitinfo",
    "flock", "fsync", "fdatasync", "pthread_cond_wait", "pthread_cond_timedwait", "pthread_cond_clockwait",
    "syscall",
}
_LIBC_MODULES = ("libc.so", "libc-", "libpthread", "ld-linux", "ld-musl", "libc.musl")

_THREAD_RE = re.compile(r"^thread \((0x[0-9a-fA-F]+|\d+)\)(?:: (.*))?$")
_FRAME_RE = re.compile(r"^(.*) \(([^()]*)\)$")


@dataclass
class StackCounts:
    """One thread's samples in one py-spy record run, by shape."""

    name: str = ""
    total: int = 0
    wait: int = 0
    idle: int = 0
    held: int = 0
    released: int = 0
    ext: int = 0

    def add(self, state: str, count: int) -> None:
        self.total += count
        if state in (WAIT, IDLE, HELD, RELEASED, EXT):
            setattr(self, state, getattr(self, state) + count)


# -- locating -----------------------------------------------------------------

def find_pyspy() -> Tuple[Optional[str], str]:
    """(path, "") or (None, why not, with the fix)."""
    override = os.environ.get(PYSPY_ENV)
    if override:
        if os.path.isfile(override) and os.access(override, os.X_OK):
            return override, ""
        return None, "%s=%s is not an executable file" % (PYSPY_ENV, override)
    beside = os.path.join(os.path.dirname(sys.executable), "py-spy")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside, ""
    found = shutil.which("py-spy")
    if found:
        return found, ""
    return None, "py-spy is not installed here: `pip install py-spy` (or set %s)" % PYSPY_ENV


@lru_cache(maxsize=8)
def pyspy_version(path: str) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    words = out.stdout.split()
    return words[-1] if out.returncode == 0 and words else ""


def record_command(pyspy: str, pid: int, rate: int, out_path: str, kind: str) -> List[str]:
    """``kind`` "stacks": native stacks of every thread (pauses the target at
    each sample; ``--native`` cannot be combined with ``--nonblocking``).
    ``kind`` "gil": only the thread holding the GIL, read without pausing."""
    cmd = [pyspy, "record", "--pid", str(pid), "--rate", str(int(rate)), "--format", "raw",
           "--output", out_path, "--threads", "--nolineno"]
    if kind == "stacks":
        cmd += ["--native", "--idle"]
    elif kind == "gil":
        cmd += ["--nonblocking", "--gil"]
    else:
        raise ValueError(kind)
    return cmd


# -- reading --------------------------------------------------------------------

def parse_raw(text: str, classify_stacks: bool = True) -> Dict[int, StackCounts]:
    """Per native thread id: samples, and (for native stacks) wait / idle."""
    threads: Dict[int, StackCounts] = {}
    parsed = []
    for line in text.splitlines():
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        head, _, rest = stack.partition(";")
        match = _THREAD_RE.match(head)
        if match is None:
            continue
        parsed.append((int(match.group(1), 0), match.group(2) or "", rest.split(";") if rest else [],
                       int(count_text)))
    hidden = classify_stacks and interpreter_hidden([frames for _, _, frames, _ in parsed])
    for tid, name, frames, count in parsed:
        entry = threads.get(tid)
        if entry is None:
            entry = threads[tid] = StackCounts(name=name)
        entry.add(classify(frames, hidden) if classify_stacks else "", count)
    return threads


def interpreter_hidden(stacks: Sequence[Sequence[str]]) -> bool:
    """Native stacks in which the interpreter's own C frames never show (a
    static build without symbols, as Debian's 3.14): every native frame
    under a Python one is libc's.  There a lock's futex and the GIL's mutex
    look the same (unnamed libc frames straight under the eval loop), so
    only the GIL's named timed wait can count as waiting for it."""
    libc = False
    for frames in stacks:
        for frame in frames:
            if is_python_frame(frame):
                continue
            where = _split(frame)[1]
            if _is_interpreter(where):
                return False
            libc = libc or _is_libc(where)
    return libc


def _split(frame: str) -> Tuple[str, str]:
    match = _FRAME_RE.match(frame)
    if match is None:
        return frame, ""
    return match.group(1), match.group(2)


def is_python_frame(frame: str) -> bool:
    where = _split(frame)[1]
    where = where.rsplit(":", 1)[0] if where[-1:].isdigit() else where
    return where.endswith((".py", ".pyw")) or (where.startswith("<") and where.endswith(">"))


def _is_libc(where: str) -> bool:
    base = os.path.basename(where)
    return base.startswith(_LIBC_MODULES)


def _is_interpreter(where: str) -> bool:
    base = os.path.basename(where)
    return base.startswith("libpython") or re.match(r"^python\d", base) is not None


def classify(frames: Sequence[str], hidden: bool = False) -> str:
    """WAIT, IDLE, HELD, RELEASED or EXT for one native stack (outermost
    first); ``hidden``: the interpreter's frames never show (``interpreter_hidden``)."""
    last_py = -1
    for i in range(len(frames) - 1, -1, -1):
        if is_python_frame(frames[i]):
            last_py = i
            break
    if last_py < 0:
        return RELEASED  # no Python frame (yet, or any more): not running Python
    native = [_split(f) for f in frames[last_py + 1:]]
    if not native:
        return HELD
    if _unnamed_timed_wait([name for name, _ in native]) if hidden else _takes_gil(native):
        return WAIT  # checked first: a worker that got its task and waits for the GIL
    if waits_for_work(frames[: last_py + 1]):
        return IDLE
    first_libc = next((i for i, (_, where) in enumerate(native) if _is_libc(where)), None)
    callers = native[:first_libc] if first_libc is not None else native
    in_extension = any(not _is_interpreter(where) for _, where in callers)
    if first_libc is not None:
        tail = [name for name, _ in native[first_libc:]]
        if tail[0] in _BLOCKING_LIBC or (len(tail) >= 2 and all(n.startswith("0x") for n in tail)):
            return RELEASED  # a blocking call, or a lock's futex (GIL cases handled above)
    return EXT if in_extension else HELD


def _takes_gil(native: Sequence[Tuple[str, str]]) -> bool:
    """Do the native frames under the innermost Python frame end in the GIL's wait?"""
    for i, (name, where) in enumerate(native):
        if not _is_libc(where):
            continue
        tail = [n for n, _ in native[i:]]
        unnamed_lock = len(tail) >= 2 and all(n.startswith("0x") for n in tail)
        if i == 0:
            # libc straight from the eval loop: only the hidden take_gil /
            # drop_gil get there with a condition variable or a mutex; a
            # single unnamed leaf is more likely memcpy and friends.
            return name in _GIL_LIBC_CALLS or unnamed_lock
        caller_name, caller_where = native[i - 1]
        if _is_interpreter(caller_where):
            # time_sleep, os_write...: their own waits are named (clock_nanosleep,
            # write) or, for PyThread locks, semaphores; a condition variable or
            # a lock's futex under them is Py_END_ALLOW_THREADS taking the GIL.
            if caller_name.startswith(("PyThread_", "lock_", "thread_")):
                return False
            return name in _TIMED_GIL_WAIT or name in ("pthread_mutex_lock",) or unnamed_lock
        # An extension's frame: a timed condition wait is PyEval_RestoreThread
        # taking the GIL back (extensions rarely use timed waits of their own).
        return name in _TIMED_GIL_WAIT
    return False


def _unnamed_timed_wait(names: Sequence[str]) -> bool:
    """Where the interpreter's frames are hidden: take_gil's timed condition
    wait is the one named frame among unnamed libc ones."""
    named = [n for n in names if not n.startswith("0x")]
    return len(named) == 1 and named[0] in _TIMED_GIL_WAIT


def waits_for_work(py_frames: Sequence[str]) -> bool:
    """A pool worker between tasks, from its Python frames (innermost last)."""
    py = [_split(f) for f in py_frames if is_python_frame(f)]
    if not py:
        return False
    name, where = py[-1]
    where = where.rsplit(":", 1)[0] if where[-1:].isdigit() else where
    if name == "_worker" and where.endswith("futures/thread.py"):
        return True  # ThreadPoolExecutor worker in work_queue.get()
    for i, (name, where) in enumerate(py[:-1]):
        if name == "_process_worker" and where.split(":")[0].endswith("futures/process.py"):
            inner_name, inner_where = py[i + 1]
            return inner_name.endswith("get") and inner_where.split(":")[0].endswith("queues.py")
    return False


# -- failing ----------------------------------------------------------------------

GONE, PERMISSION, UNSUPPORTED, EARLY, ERROR = "gone", "permission", "unsupported", "early", "error"


def failure_kind(output: str) -> str:
    """What a py-spy run that produced no samples ran into."""
    text = output.lower()
    if "permission denied" in text or "operation not permitted" in text or "os error 1)" in text \
            or "os error 13" in text:
        return PERMISSION
    if "failed to find a python interpreter in the .data section" in text \
            or "unsupported version of python" in text:
        return UNSUPPORTED
    if "failed to find python version" in text or "no python processes found" in text:
        return EARLY  # not initialized yet, or not Python at all
    if "no such process" in text or "failed to get process executable name" in text \
            or "os error 3)" in text or "process ended" in text or "os error 2)" in text:
        return GONE
    return ERROR


def first_error_line(output: str) -> str:
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("Error:"):
            return line[len("Error:"):].strip()
        if line.lower().startswith("permission denied"):
            return "Permission denied"
    lines = [l.strip() for l in output.splitlines() if l.strip() and not l.startswith("py-spy> ")]
    return lines[0] if lines else "no output"


# -- one dump -------------------------------------------------------------------------

DUMP_TIMEOUT_S = 10.0


def dump(pyspy: str, pid: int, timeout: float = DUMP_TIMEOUT_S) -> Tuple[Optional[List[Dict[str, Any]]], str]:
    """The threads of ``py-spy dump --json`` of one process: (threads, "") or (None, why not)."""
    try:
        # --nonblocking: read without stopping the process (and without
        # competing with the GIL sampler's py-spy for the ptrace attachment).
        out = subprocess.run([pyspy, "dump", "--pid", str(pid), "--json", "--nonblocking"], capture_output=True,
                             text=True,
                             timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return None, "py-spy dump did not answer within %gs" % timeout
    except OSError as exc:
        return None, "py-spy cannot be started: %s" % exc
    if out.returncode == 0:
        try:
            data = json.loads(out.stdout)
        except ValueError:
            return None, "py-spy printed something that is not JSON"
        return (data if isinstance(data, list) else []), ""
    return None, dump_failure(out.stderr or out.stdout, pid)


def dump_failure(text: str, pid: int) -> str:
    lowered = text.lower()
    if "permission denied" in lowered or "operation not permitted" in lowered:
        return ("not permitted to trace pid %d: ptrace is restricted here (run execscope as the process's "
                "owner with kernel.yama.ptrace_scope=0, or as root; in a container, add CAP_SYS_PTRACE)" % pid)
    if "no such process" in lowered or "failed to open process" in lowered:
        return "pid %d is gone" % pid
    if "python version" in lowered or "python interpreter" in lowered or "executable" in lowered:
        return "pid %d is not a Python process py-spy can read" % pid
    first = text.strip().splitlines()[0] if text.strip() else "no output"
    return "py-spy cannot read pid %d: %s" % (pid, first)
