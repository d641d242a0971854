"""The cost of crossing processes: pickle bottleneck (C7, C8) and tiny map chunks (C9).

A process-pool task pays for its trip: the arguments are pickled in the
parent (feeder thread), pushed through a pipe, unpickled in the worker; the
result makes the same trip back.  The runner times each phase of every task;
the IPC share is those six phases over the task's service time (IPC plus
compute; queue wait excluded, since a long queue is not IPC's fault).

- ``pickle_bottleneck``: IPC is more than half of each task's service time,
  or it is a real part of it (a quarter) and the pool finishes fewer tasks per
  second than a single thread would by just computing them (the reversal of
  C8; the serial rate is estimated as 1 / mean compute time).
- ``chunksize_too_small``: the same condition in ``map`` with small items,
  where each call's fixed cost (a pickle and a pipe round trip, whatever the
  size) dominates and a larger chunksize would spread it over many items.
  The suggested chunksize makes that fixed cost about a tenth of a chunk's
  compute, capped so that each worker still gets several chunks.

Both read a window of recently finished tasks (see ``base``); under spawn and
forkserver the window starts once every busy worker has finished its first
task, because that first unpickling also imports the task's module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from ..families import uses_processes
from ..fmt import fmt_bytes, fmt_num, fmt_s
from ..model import Snapshot
from .base import MIN_TASKS, WINDOW_S, Finding, Window, r, task_window, warm_base, was_active

PICKLE = "pickle_bottleneck"
CHUNKS = "chunksize_too_small"
RAISE_SHARE = 0.5  # IPC is more than half of what a task costs once a worker has it
KEEP_SHARE = 0.4
SLOWER_SHARE = 0.25  # ... or a quarter, and the pool is clearly slower than one thread
KEEP_SLOWER_SHARE = 0.2
RAISE_SLOWER = 0.9  # pool rate below 90% of the serial estimate (it is an estimate)
KEEP_SLOWER = 1.1
# A call whose pickles fit in one pipe buffer costs mostly its fixed overhead
# (pickle framing, a pipe round trip, two thread hand-offs), not its bytes.
SMALL_CALL_BYTES = 64 * 1024
TARGET_OVERHEAD = 0.1  # suggested chunksize: IPC about 10% of a chunk's compute
CHUNKS_PER_WORKER = 4  # ... but leave each worker at least this many chunks
# A suggestion is worth making only if it at least doubles the chunk: raising
# 453 to 500 changes nothing a user would see, and a user who took our last
# suggestion must not be told to nudge it again.
MIN_GROWTH = 2
MIB = 1024.0 * 1024.0
SUSTAIN_S = 0.5  # raised once the condition has held this long (cleared at once)


@dataclass(frozen=True)
class IpcFigures:
    window: Window
    warm: bool  # first tasks (module imports under spawn/forkserver) left out
    chunk: int  # items per call (map chunksize, else 1)

    @property
    def b(self):  # type: ignore[no-untyped-def]
        return self.window.breakdown

    @property
    def share(self) -> float:
        return self.b.ipc_share

    @property
    def args_s(self) -> float:
        return self.b.ser + self.b.xfer + self.b.deser

    @property
    def result_s(self) -> float:
        return self.b.rser + self.b.rxfer + self.b.rdeser

    @property
    def bytes_per_task(self) -> float:
        return self.b.bytes_out + self.b.bytes_in

    @property
    def per_call_bytes(self) -> float:
        return self.bytes_per_task * self.chunk

    @property
    def mib_per_s(self) -> Optional[float]:
        return self.bytes_per_task / self.b.ipc / MIB if self.b.ipc > 0 else None

    @property
    def serial_rate(self) -> Optional[float]:
        return 1.0 / self.b.compute if self.b.compute > 0 else None

    @property
    def slower_than_serial(self) -> bool:
        serial = self.serial_rate
        return serial is not None and self.window.tasks_per_s < serial


def ipc_figures(history: Sequence[Snapshot], seconds: float = WINDOW_S) -> Optional[IpcFigures]:
    snap = history[-1]
    if not uses_processes(snap.config.executor):
        return None
    window = task_window(history, seconds, MIN_TASKS)
    warm = snap.config.start_method in ("spawn", "forkserver")
    if window is not None and warm:
        found = warm_base(history, stop=window.start)
        if found is None:
            return None
        if found > window.start:
            window = task_window(history, seconds, MIN_TASKS, found)
    if window is None or window.breakdown.service <= 0:
        return None
    chunk = (snap.chunksize or 1) if (snap.mode == "map" and snap.config.tasks is not None) else 1
    return IpcFigures(window, warm, max(1, chunk))


def _holds(fig: IpcFigures, active: bool) -> bool:
    if fig.share >= (KEEP_SHARE if active else RAISE_SHARE):
        return True
    serial = fig.serial_rate
    if serial is None or fig.share < (KEEP_SLOWER_SHARE if active else SLOWER_SHARE):
        return False
    return fig.window.tasks_per_s < serial * (KEEP_SLOWER if active else RAISE_SLOWER)


def suggest_chunksize(snap: Snapshot, fig: IpcFigures) -> Optional[int]:
    """A chunksize that makes per-call IPC ~10% of a chunk's compute; None when
    the chunks cannot usefully grow (big items, or too few items to share)."""
    if snap.mode != "map" or snap.config.tasks is None or fig.per_call_bytes >= SMALL_CALL_BYTES:
        return None
    workers = snap.max_workers or len(snap.workers) or 1
    cap = max(1, math.ceil(snap.config.tasks / float(CHUNKS_PER_WORKER * workers)))
    least = fig.chunk * MIN_GROWTH
    if cap < least:
        return None
    per_call_ipc = fig.b.ipc * fig.chunk
    compute = fig.b.compute
    want = math.ceil(per_call_ipc / (TARGET_OVERHEAD * compute)) if compute > 0 else cap
    return max(least, min(want, cap))


def _evidence(snap: Snapshot, fig: IpcFigures) -> dict:
    b = fig.b
    return {
        "ipc_share": r(fig.share, 3),
        "run_ipc_share": r(snap.breakdown.ipc_share, 3),
        "ipc_s_per_task": r(b.ipc, 6),
        "compute_s_per_task": r(b.compute, 6),
        "serialize_s": r(b.ser, 6),
        "transfer_s": r(b.xfer, 6),
        "deserialize_s": r(b.deser, 6),
        "result_s": r(fig.result_s, 6),
        "bytes_out_per_task": int(b.bytes_out),
        "bytes_in_per_task": int(b.bytes_in),
        "mib_per_s": r(fig.mib_per_s, 1),
        "tasks_per_s": r(fig.window.tasks_per_s, 2),
        "serial_tasks_per_s_estimate": r(fig.serial_rate, 2),
        "slower_than_serial": fig.slower_than_serial,
        "window_tasks": b.tasks,
        "window_s": r(fig.window.seconds, 2),
        "first_tasks_excluded": fig.warm,
    }


def _since(snap: Snapshot, fig: IpcFigures) -> float:
    return max(fig.window.t_from, snap.startup_s or 0.0)


def _sustained(history: Sequence[Snapshot], kind: str, fig: IpcFigures) -> bool:
    """The condition holds now; to be raised, it also held SUSTAIN_S ago and
    holds over the last SUSTAIN_S alone.  A pool's first tasks (workers still
    starting, results waiting for a parent busy submitting) can look like a
    bottleneck for a few tenths of a second, and a one-second window would
    keep showing them for a second more."""
    active = was_active(history, kind)
    if not _holds(fig, active):
        return False
    if active:
        return True
    if history[-1].finished:
        # a run shorter than that: the verdict of the whole run
        whole = ipc_figures(history, float("inf"))
        return whole is not None and _holds(whole, False)
    t_before = history[-1].t_s - SUSTAIN_S + 1e-9
    then = next((i for i in range(len(history) - 1, -1, -1) if history[i].t_s <= t_before), None)
    if then is None:
        return False
    before = ipc_figures(history[:then + 1])
    if before is None or not _holds(before, False):
        return False
    recent_only = ipc_figures(history, SUSTAIN_S)
    return recent_only is not None and _holds(recent_only, False)


def _slower_than_serial(fig: IpcFigures, ref: str) -> str:
    """The message's tail when one thread would beat the pool, else ''."""
    if not fig.slower_than_serial:
        return ""
    return "; the pool finishes %s tasks/s where one thread would finish ~%s%s" % (
        fmt_num(fig.window.tasks_per_s), fmt_num(fig.serial_rate), ref)


def pickle_bottleneck(history: Sequence[Snapshot]) -> Optional[Finding]:
    snap = history[-1]
    fig = ipc_figures(history)
    if fig is None or not _sustained(history, PICKLE, fig):
        return None
    if suggest_chunksize(snap, fig) is not None:
        return None  # chunksize_too_small says it, with the number to use
    b = fig.b
    compute_share = b.compute / b.service
    # workers busy over the last second (not just now: at the end of a run
    # they go idle, and the diagnosis must not flip with them)
    busy = max(sum(1 for w in s.workers if w.state not in ("idle", "starting")) for s in history[-10:])
    usable = snap.cpu.usable_cpus or snap.machine.get("usable_cpus") or 0
    if fig.per_call_bytes < SMALL_CALL_BYTES and usable and busy >= usable:
        # A few hundred bytes cannot take a millisecond to pickle and pipe:
        # the hand-off is waiting for the parent, whose manager and feeder
        # threads need a CPU that the workers keep busy.
        case = "parent_starved"
        remedy = ("leave the parent a CPU: %d workers keep all %d usable CPUs busy, so the parent process "
                  "that sends tasks and collects results waits its turn for every hand-off; use %d worker%s, "
                  "or send fewer, larger tasks so hand-offs are rarer (C9, C12)"
                  % (busy, usable, max(1, usable - 1), "" if usable - 1 <= 1 else "s"))
    elif fig.per_call_bytes < SMALL_CALL_BYTES:
        case = "per_call_overhead"
        remedy = ("send fewer, larger tasks: batch many items into each call (or map with a chunksize), "
                  "so the fixed pickle and pipe round trip of ~%s is paid once per batch; work this small "
                  "runs faster in threads or serially (C9, C12)" % fmt_s(b.ipc))
    elif fig.result_s > fig.args_s:
        case = "results"
        remedy = ("return less: reduce the result inside the worker and send back a summary, or write it "
                  "into multiprocessing.shared_memory and return only its name (C7, C10)")
    elif compute_share < 0.1:
        case = "arguments"
        remedy = ("the copy costs more than the work: a thread pool shares the data with no pickling (and "
                  "loses nothing to the GIL when the compute releases it, as NumPy does, C13), or put the "
                  "data in multiprocessing.shared_memory once and pass only its name (C10)")
    else:
        case = "arguments"
        remedy = ("put the data in multiprocessing.shared_memory once and send only its name and shape "
                  "(C10); if the compute releases the GIL (NumPy, hashlib), a thread pool avoids the copy "
                  "entirely (C13)")
    rate = fig.mib_per_s
    if case == "parent_starved":
        message = ("handing tasks to and from the workers takes %.0f%% of each task's time although only %s "
                   "per task is pickled: the parent waits for a CPU its %d busy workers hold (%s per task, "
                   "around %s of compute)" % (100 * fig.share, fmt_bytes(fig.bytes_per_task), busy,
                                              fmt_s(b.ipc), fmt_s(b.compute)))
        message += _slower_than_serial(fig, "")
        evidence = _evidence(snap, fig)
        evidence.update({"case": case, "busy_workers": busy, "usable_cpus": usable})
        return Finding(kind=PICKLE, severity="warning", message=message, remedy=remedy, evidence=evidence,
                       panel="breakdown", since_t_s=_since(snap, fig))
    message = ("IPC takes %.0f%% of each task's time in the process pool: %s per task pickled and piped%s "
               "around %s of compute" % (100 * fig.share, fmt_bytes(fig.bytes_per_task),
                                         " at %.0f MiB/s" % rate if rate is not None and fig.bytes_per_task >= 1024
                                         else "", fmt_s(b.compute)))
    message += _slower_than_serial(fig, " (C8)")
    evidence = _evidence(snap, fig)
    evidence["case"] = case
    return Finding(kind=PICKLE, severity="warning", message=message, remedy=remedy, evidence=evidence,
                   panel="breakdown", since_t_s=_since(snap, fig))


def chunksize_too_small(history: Sequence[Snapshot]) -> Optional[Finding]:
    snap = history[-1]
    fig = ipc_figures(history)
    if fig is None or not _holds(fig, was_active(history, CHUNKS)):
        return None
    suggested = suggest_chunksize(snap, fig)
    if suggested is None:
        return None
    b = fig.b
    per_call = b.ipc * fig.chunk
    expected = (per_call / suggested) / (per_call / suggested + b.compute) if (per_call + b.compute) > 0 else 0.0
    message = ("map(chunksize=%d) pays ~%s of pickling and pipe round trip per call for ~%s of compute per "
               "item: IPC is %.0f%% of the work" % (fig.chunk, fmt_s(per_call), fmt_s(b.compute),
                                                      100 * fig.share))
    remedy = ("raise the chunksize to about %d (from the measured costs: IPC would fall to ~%.0f%% and each "
              "worker still gets %d+ chunks), so the fixed cost per call is shared by many items (C9)"
              % (suggested, 100 * expected, CHUNKS_PER_WORKER))
    evidence = _evidence(snap, fig)
    evidence.update({
        "chunksize": fig.chunk,
        "suggested_chunksize": suggested,
        "ipc_s_per_call": r(per_call, 6),
        "expected_ipc_share": r(expected, 3),
        "items": snap.config.tasks,
    })
    return Finding(kind=CHUNKS, severity="warning", message=message, remedy=remedy, evidence=evidence,
                   panel="breakdown", since_t_s=_since(snap, fig))
