"""Read a CPython 3.15+ process's own GIL flags; run under the target's interpreter.

    python3.15 -I gilflags_helper.py PID [HZ] [EVERY_S]

``_remote_debugging.RemoteUnwinder`` reads the target's thread states from
its memory (``process_vm_readv``: the target never stops).  Each thread
state carries the interpreter's own status bits: it holds its
interpreter's GIL (``THREAD_STATUS_HAS_GIL``) or has asked for it
(``THREAD_STATUS_GIL_REQUESTED``).  The module ships with the interpreter
and reads only processes of its own version, hence this script runs under
the target's interpreter, not under execscope's.

Every EVERY_S it prints one JSON line::

    {"t0": monotonic, "t1": monotonic, "samples": n, "errors": e,
     "threads": [[interpreter id, native thread id, state, [innermost frames], count], ...]}

with state ``held``, ``wait`` or ``other``, and the innermost few Python
frames as ``"function (file)"`` (the caller tells a pool worker waiting for
a task from them).  A sample the target changed while it was read fails
(``RuntimeError``) and is counted in ``errors``, not guessed.  On SIGINT it
prints what it has and exits 0; if it cannot read the process at all, it
prints ``{"error": kind, "message": text}`` and exits 1.  Standard library
only (it runs under whatever interpreter the target is).
"""

import json
import os
import signal
import sys
import time

FRAMES = 8  # innermost Python frames kept per sample


def main(argv):
    pid = int(argv[1])
    hz = float(argv[2]) if len(argv) > 2 else 100.0
    every = float(argv[3]) if len(argv) > 3 else 0.5
    try:
        import _remote_debugging as rd
    except ImportError:
        return fail("unsupported", "this interpreter has no _remote_debugging module")
    has_gil = getattr(rd, "THREAD_STATUS_HAS_GIL", None)
    requested = getattr(rd, "THREAD_STATUS_GIL_REQUESTED", None)
    if has_gil is None or requested is None:
        return fail("unsupported", "this interpreter's _remote_debugging has no GIL flags (3.15+)")
    unwinder = connect(rd, pid)
    if isinstance(unwinder, int):
        return unwinder
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    period = 1.0 / hz
    counts, samples, errors = {}, 0, 0
    t0 = time.monotonic()
    next_at = t0
    while not stop:
        now = time.monotonic()
        if now >= t0 + every:
            emit(t0, now, samples, errors, counts)
            counts, samples, errors, t0 = {}, 0, 0, now
            # An unwinder reads the interpreters that exist when it is made:
            # a new one each round sees subinterpreters created since (0.3 ms).
            unwinder = renew(rd, pid, unwinder)
        try:
            interpreters = unwinder.get_stack_trace()
        except ProcessLookupError:
            break
        except (RuntimeError, OSError, UnicodeDecodeError, MemoryError):
            if not os.path.exists("/proc/%d" % pid):
                break
            errors += 1
        else:
            samples += 1
            for key in sample_keys(interpreters, has_gil, requested):
                counts[key] = counts.get(key, 0) + 1
        next_at += period
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_at = time.monotonic()
    emit(t0, time.monotonic(), samples, errors, counts)
    return 0


def sample_keys(interpreters, has_gil, requested):
    """One ``(interpreter id, thread id, state, frames)`` per OS thread of a sample.

    A thread that entered another interpreter (an InterpreterPoolExecutor
    worker inside ``Interpreter.call``) has a thread state in each: the one
    it left is parked without any GIL, the one it runs in holds or asks for
    that interpreter's GIL.  The thread is where it runs: the state holding
    or asking for a GIL, else the innermost (most recently entered, highest
    id) interpreter's, never both."""
    best = {}
    for interp in interpreters:
        for thread in interp.threads:
            status = thread.status
            state = "held" if status & has_gil else "wait" if status & requested else "other"
            rank = (state != "other", interp.interpreter_id)
            tid = thread.thread_id
            if tid in best and best[tid][0] >= rank:
                continue
            frames = tuple("%s (%s)" % (f.funcname, f.filename) for f in thread.frame_info[:FRAMES])
            best[tid] = (rank, (interp.interpreter_id, tid, state, frames))
    return [key for _, key in best.values()]


def renew(rd, pid, unwinder):
    """A fresh unwinder over the process's interpreters now, else the old one."""
    try:
        return rd.RemoteUnwinder(pid, all_threads=True, skip_non_matching_threads=False, cache_frames=True)
    except (RuntimeError, OSError):
        return unwinder


def connect(rd, pid):
    """An unwinder over every thread of every interpreter, or an exit status.
    A process whose interpreter is still starting is retried for a while."""
    give_up = time.monotonic() + 5.0
    while True:
        try:
            return rd.RemoteUnwinder(pid, all_threads=True, skip_non_matching_threads=False, cache_frames=True)
        except PermissionError as exc:
            return fail("permission", str(exc))
        except ProcessLookupError as exc:
            return fail("gone", str(exc))
        except (RuntimeError, OSError) as exc:
            if not os.path.exists("/proc/%d" % pid):
                return fail("gone", str(exc))
            if time.monotonic() >= give_up:
                return fail("error", str(exc))
            time.sleep(0.05)


def emit(t0, t1, samples, errors, counts):
    threads = [[i, tid, state, list(frames), n] for (i, tid, state, frames), n in counts.items()]
    line = json.dumps({"t0": t0, "t1": t1, "samples": samples, "errors": errors, "threads": threads})
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass


def fail(kind, message):
    sys.stdout.write(json.dumps({"error": kind, "message": message}) + "\n")
    sys.stdout.flush()
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
