"""Instrumentation around one real executor: every task timed, live state on demand.

``Tracker`` wraps a ``ThreadPoolExecutor`` (also the one-thread "serial"
baseline) or a ``ProcessPoolExecutor`` without changing how it works: tasks
still go through the executor's own ``submit``.

Thread pools: a timed task's callable is wrapped (``_run_local``) so the
worker thread notes when it took the task and when it finished.  The others
(``_submit_bare``) go to the executor as they are: their futures wait in a
deque that each read of the counts sweeps (``_collect``: finished ones are
counted, failed ones reported, running ones get a done callback that notes
their end), and at close the last few get that callback at once, so the run
ends when its last task does.  What a worker runs and whether it is really
computing or *blocked* on another future is read from its Python stack
(``sys._current_frames``) at each tick: a timed task's row says what it runs,
a bare task is the ``self.future`` of the worker's ``_WorkItem.run`` frame; a
frame of ``Future.result`` or ``wait`` in ``concurrent/futures/_base.py``
means it waits, and that frame's ``self`` is the future it waits for.  This
costs nothing between ticks.

Process pools: the task travels as ``worker.run_task(task_id, fn, args,
kwargs)`` in the executor's own call item, pickled once by the executor's
feeder thread; ``probes.time_queue_pickling`` times that pickle (and, in the
worker, the unpickle) where it happens.  The worker times transfer, compute
and its pickling of the result, and returns the result as bytes with the
timings; the done callback (in the executor's manager thread, where CPython
unpickles results too) times the result's transfer and unpickling and, when
asked, resolves a future holding the caller's real result.

Phases are timed on a sample of thread- and process-pool calls
(``Tracker.timed_weight``): the first ``TIMED_FIRST`` calls, then about one
in ``TIMED_EVERY`` (thread pools: ``TIMED_EVERY_THREADS``; random gaps, so
that a periodic pattern in the tasks cannot line up with the sample), and
any call when none was timed for ``TIMED_GAP_S`` (a slow stream of tasks is
timed whole).  The others travel as ``worker.run_light`` (a
process worker still writes its live state and counts) or bare (threads);
the parent only counts them, from their futures, in the sweep (``_collect``;
a map chunk's by a done callback).  Each timed call stands for the calls
since the previous timed one (its weight); the phase sums are those weighted
sums scaled to the calls finished, so means and shares are the sample's and
counts stay exact.  A thread worker's done count and busy seconds are the
weights of the timed tasks it ran: estimates, exact for the first
``TIMED_FIRST`` tasks and for slow streams.

Interpreter pools (``InterpreterPoolExecutor``, 3.14+): the rows are the
worker threads, as for thread pools; each task goes out as an
``interp_task`` entry that ``interp_pool.timed_run`` turns, in the worker
thread, into a call in the worker's own interpreter, timed phase by phase
and recorded as a process-pool task is (``record_remote``).
"""

from __future__ import annotations

import functools
import itertools
import operator
import pickle
import random
import sys
import threading
import time
import traceback
from collections import deque, namedtuple
from concurrent.futures import CancelledError, Future
from concurrent.futures import thread as _thread_pool
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Tuple

from ..families import is_isolated, uses_processes
from ..protocol import BREAKDOWN_FIELDS, ID_SPAN, TOTALS_FIELDS, latency_bucket, worker_row
from . import interp_task, probes, slots, worker

IDLE, RUNNING, BLOCKED = "idle", "running", "blocked"
FOREIGN = -3  # waiting on a task of another executor: busy with its task, not blocked on its own pool
BETWEEN = -4  # a thread worker seen between two tasks with more queued (_poll_threads)
_FUTURES_FILE = "concurrent" + "/futures/_base.py"
_WAIT_FUNCTIONS = {"result", "exception", "wait", "as_completed", "_result_or_cancel"}
MAX_REPORTED_ERRORS = 5
# The tracker times its own work on one task in OWN_EVERY (by task id): the
# observer block of the run says what instrumentation costs a task, measured,
# for the price of a few clock reads a hundred tasks.  It reads the thread's
# CPU clock: a wait for the GIL in the middle is another thread's time.
OWN_EVERY = 16
OWN_EVERY_THREADS = 64  # a thread pool's untimed task costs a few hundred ns: four clock reads weigh there
_cpu_clock = time.thread_time
# Process-family calls whose phases are timed (see the module's docstring).
TIMED_FIRST = 64
TIMED_EVERY = 16
# Thread pools time fewer: a timed no-op task cost its pool ~6 us side by
# side on 2 CPUs (the wrapper, its record, the slower submit), a process
# pool's timed call a fraction of its IPC.
TIMED_EVERY_THREADS = 64
TIMED_GAP_S = 0.02
GAPS = 1021  # distinct random gaps, used in turn (a prime: no short cycle)
# Thread pools at close: the last max(TAIL_MIN, TAIL_PER_WORKER x workers)
# tasks note their own end (the run's end is its last task's).
TAIL_MIN = 16
TAIL_PER_WORKER = 4
_PENDING, _RUNNING, _FINISHED = "PENDING", "RUNNING", "FINISHED"  # concurrent.futures' Future._state
_STATE, _EXCEPTION = operator.attrgetter("_state"), operator.attrgetter("_exception")
SWEEP_WINDOW = 256  # futures a sweep reads at a time
_SWEEP_MASK = 255  # the submitting thread sweeps on the task ids that are multiples of 256


def ids_issued(ids: "itertools.count[int]") -> int:
    """The next id an ``itertools.count`` (step 1) will hand out, read
    without taking it (its repr, ``count(N)``, is C-level and exact).

    >>> c = itertools.count(5); _ = next(c); ids_issued(c)
    6
    """
    return int(repr(ids)[6:-1])


def _clock_read_s() -> float:
    """What one read of the CPU clock costs (a system call): each timed
    interval holds about one, taken off the figure."""
    best = 1.0
    for _ in range(20):
        a = _cpu_clock()
        best = min(best, _cpu_clock() - a)
    return best


_CLOCK_READ_S = _clock_read_s()


class Phases(namedtuple("Phases", BREAKDOWN_FIELDS)):
    """Seconds one process-pool call spent in each phase (protocol.BREAKDOWN_FIELDS)."""

    __slots__ = ()


_EARLIEST = ("first_submit", "first_begin")  # combined by minimum (0: none yet)
_LATEST = ("last_end",)  # by maximum
_SUMS = tuple(name for name in TOTALS_FIELDS if name not in _EARLIEST + _LATEST)
_COUNTS = ("items", "failed", "records")
_SAMPLED = tuple(name for name in _SUMS if name not in _COUNTS)  # weighted sums of timed calls


class Totals:
    """Cumulative task totals (protocol.TOTALS_FIELDS, one attribute each),
    written under the tracker's lock (a thread pool's timed tasks are folded
    in from its workers' records by whoever reads)."""

    __slots__ = TOTALS_FIELDS + ("hist", "timed", "weights")

    def __init__(self) -> None:
        for name in TOTALS_FIELDS:
            setattr(self, name, 0)
        self.hist: Dict[int, int] = {}
        self.timed = 0  # process pools: calls timed phase by phase ...
        self.weights = 0  # ... and how many calls they stand for

    @classmethod
    def of(cls, fields: Mapping[str, Any], hist: Mapping[Any, int]) -> "Totals":
        """Totals holding ``fields`` by name (a tick's totals, or ``as_dict()``)."""
        totals = cls()
        for name in TOTALS_FIELDS:
            setattr(totals, name, fields.get(name, 0))
        totals.hist = {int(bucket): count for bucket, count in hist.items()}
        return totals

    def as_dict(self) -> Dict[str, Any]:
        """The fields by name, each read once (no hist)."""
        return {name: getattr(self, name) for name in TOTALS_FIELDS}

    def _record(self, items: int, ok: int, t_submit: float, t_begin: float, t_end: float,
                weight: int = 1) -> None:
        """What every finished executor call adds: counts, its span, its latency."""
        self.count(items, ok, t_end)
        if not self.first_submit or t_submit < self.first_submit:
            self.first_submit = t_submit
        if not self.first_begin or t_begin < self.first_begin:
            self.first_begin = t_begin
        b = latency_bucket(t_end - t_submit)
        self.hist[b] = self.hist.get(b, 0) + items * weight

    def count(self, items: int, ok: int, t_end: float) -> None:
        """A finished call's counts and end (all a light call adds)."""
        self.items += items
        self.records += 1
        if not ok:
            self.failed += items
        if t_end > self.last_end:
            self.last_end = t_end

    def add_local(self, ok: int, t_submit: float, t_begin: float, t_end: float, weight: int = 1) -> None:
        """A timed thread-pool task, standing for ``weight`` tasks: only queue wait and compute."""
        self._record(1, ok, t_submit, t_begin, t_end, weight)
        self.timed += 1
        self.weights += weight
        self.queue += (t_begin - t_submit) * weight
        self.compute += (t_end - t_begin) * weight

    def count_many(self, items: int, t_end: float) -> None:
        """Bare tasks counted together, each a call (their failures are added
        once reported); ``t_end``: a time they had all finished by (0: not known)."""
        self.items += items
        self.records += items
        if t_end > self.last_end:
            self.last_end = t_end

    def add(self, items: int, ok: int, t_submit: float, t_begin: float, t_end: float,
            phases: Phases, bytes_out: int, bytes_in: int, weight: int = 1) -> None:
        """A timed process-pool call (a map chunk holds ``items`` tasks),
        standing for ``weight`` calls: its phases and bytes count that often."""
        self._record(items, ok, t_submit, t_begin, t_end, weight)
        self.timed += 1
        self.weights += weight
        self.bytes_out += bytes_out * weight
        self.bytes_in += bytes_in * weight
        self.queue += phases.queue * items * weight  # each item of a chunk waited that long
        self.ser += phases.ser * weight  # every other phase is shared among the items
        self.xfer += phases.xfer * weight
        self.deser += phases.deser * weight
        self.compute += phases.compute * weight
        self.rser += phases.rser * weight
        self.rxfer += phases.rxfer * weight
        self.rdeser += phases.rdeser * weight

    def estimated(self) -> "Totals":
        """A copy whose phase and byte sums stand for every finished call:
        the timed calls' weighted sums scaled by calls finished / weights
        finished (1 when every call was timed; the last timed call's light
        followers have finished before it or without it)."""
        out = Totals.of(self.as_dict(), self.hist)
        out.timed, out.weights = self.timed, self.weights
        if self.weights and self.records != self.weights:
            scale = self.records / self.weights
            for name in _SAMPLED:
                value = getattr(self, name) * scale
                setattr(out, name, int(round(value)) if name.startswith("bytes") else value)
        return out


    @classmethod
    def merge(cls, parts: List["Totals"]) -> "Totals":
        """One Totals from several writers (their timed calls and weights too)."""
        out = cls()
        for part in parts:
            for name in _SUMS:
                setattr(out, name, getattr(out, name) + getattr(part, name))
            for name in _EARLIEST:
                value = getattr(part, name)
                if value and (not getattr(out, name) or value < getattr(out, name)):
                    setattr(out, name, value)
            for name in _LATEST:
                setattr(out, name, max(getattr(out, name), getattr(part, name)))
            for bucket, count in dict(part.hist).items():
                out.hist[bucket] = out.hist.get(bucket, 0) + count
            out.timed += part.timed
            out.weights += part.weights
        return out

    def sent(self) -> Dict[str, Any]:
        """As a tick sends it: the fields by name and ``hist``."""
        out = self.as_dict()
        out["hist"] = dict(self.hist)
        return out


def combine(parts: List[Totals]) -> Dict[str, Any]:
    """One cumulative totals object (as sent in a tick) from several writers
    whose sums already stand for every call (several executors' totals)."""
    return Totals.merge(parts).sent()


class _ThreadRow:
    """A thread-pool worker's live state, written by that worker only."""

    __slots__ = ("state", "task", "since", "done", "busy_s", "native_id", "name", "key", "records", "t_started",
                 "own_s", "own_n", "seen_task", "seen_since")

    def __init__(self, since: float, native_id: int, name: str) -> None:
        self.state, self.task, self.since = IDLE, -1, since
        self.done, self.busy_s = 0, 0.0
        self.t_started = 0.0  # when the worker became ready, if it has a start-up (an interpreter's)
        self.own_s, self.own_n = 0.0, 0  # sampled tasks: the wrapper's own seconds
        self.native_id, self.name, self.key = native_id, name, "t:%d" % native_id
        # timed tasks finished, (ok, t_submit, t_begin, t_end, weight) each:
        # the worker only appends, a reader folds them into the totals
        self.records: Deque[Tuple[int, float, float, float, int]] = deque()
        # written by the poller only: the bare task it last saw this worker
        # run, and since when (a bare task's start is not noted)
        self.seen_task, self.seen_since = -1, 0.0


class Tracker:
    def __init__(
        self,
        executor: Any,
        kind: str,
        slot_table: Optional[slots.SlotTable] = None,
        clock: Callable[[], float] = time.monotonic,
        deliver_results: bool = True,
        first_id: int = 0,
        timed_every: Optional[int] = None,
    ) -> None:
        self.executor = executor
        # Process pools: resolve a future holding the caller's real result.
        # The runner discards results, so it skips that extra future.
        self.deliver_results = deliver_results
        self.kind = kind  # "serial", "thread", "process" or another family (execscope.families)
        # Workers are processes: their rows and exits come from slots and the pool.
        self.remote = uses_processes(kind)
        # Tasks cross into another interpreter (a process or a subinterpreter)
        # and come back as timed result bytes.
        self.isolated = is_isolated(kind)
        # Calls timed on a sample (timed_weight): process pools, thread pools
        # (an interpreter pool times each call in its worker thread).
        self.sampled = self.remote or not self.isolated
        self._refused = 0  # thread pools: submits the executor refused (under the lock)
        self.slots = slot_table
        self.clock = clock
        self.errors: Deque[dict] = deque()
        self.serialized: Dict[int, Tuple[float, int]] = {}
        self._remote_totals = Totals()  # process pools, under self._lock
        # An executor that counts its own light calls (mp_pool.PoolWatch):
        # () -> (succeeded since the last call, the last one's end), folded by _collect
        self._light_count: Optional[Callable[[], Tuple[int, float]]] = getattr(executor, "light_count", None)
        # What a process worker is sent to call (run_task, run_chunk): an
        # attached agent sends stand-ins its workers can import (inject/remote.py).
        # Indexed by (light, chunk): timed task, timed chunk, light task, light chunk.
        self.remote_calls: Tuple[Callable[..., Any], ...] = (worker.run_task, worker.run_chunk,
                                                             worker.run_light, worker.run_light_chunk)
        # Which calls are timed phase by phase (timed_weight); 1: every one.
        # its own cost timed on one task in this many, by id (a power of two)
        self._own_mask = (OWN_EVERY if self.isolated else OWN_EVERY_THREADS) - 1
        if timed_every is None:
            timed_every = TIMED_EVERY if self.isolated else TIMED_EVERY_THREADS
        self.timed_every = max(1, int(timed_every))
        self._timed_until = first_id + (TIMED_FIRST if self.timed_every > 1 else 0)
        self._next_timed = first_id
        self._last_timed_id = first_id - 1
        self._last_timed_t = 0.0
        # random gaps between timed calls, drawn once (randint on the submit path costs)
        gaps = random.Random(first_id)
        self._gaps = [gaps.randint(1, 2 * self.timed_every - 1) for _ in range(GAPS)]
        self._gap_at = 0
        if self.remote:
            probes.time_queue_pickling(on_dumps=self._call_pickled)
        # No lock on the thread-pool hot path: a Python lock shared by the
        # submitter and the workers convoys under the GIL (a holder preempted
        # mid-section makes every other thread block and hand the GIL over).
        # Counters are single-writer instead (per submitting thread, per
        # worker row: a timed task appends its record, readers fold them) and
        # summed when read; ids come from itertools.count, whose next() is one
        # C call.  (The worker's own part of a timed task is kept to clock
        # reads, stores and that append: on 2 CPUs each statement more there
        # measured out of proportion, side by side.)
        self._lock = threading.Lock()  # process-pool callbacks, errors, sweeps, reads
        # Task ids start at first_id: several trackers in one process (an
        # instrumented program's pools) keep apart whose call item was pickled.
        self.first_id = first_id
        self._ids = itertools.count(first_id)
        self._submit_counts: Dict[int, List[Any]] = {}  # thread ident -> [items, own s, own n]
        # Thread pools: futures of bare tasks not yet counted (appended by
        # submitters, swept by _collect under the lock), what the sweeps
        # counted, their CPU seconds, and the time of the one before.
        self._bare: Deque[Future] = deque()
        self._bare_totals = Totals()
        self._timed_totals = Totals()  # thread pools' timed tasks, folded from the rows' records
        self._sweep_s = 0.0
        self._swept_at = 0.0
        self._tail_from: Optional[int] = None  # task ids from here on check for the end when they finish
        self._remote_finished = 0  # process pools, under the lock
        self._done_own = [0.0, 0]  # sampled result handling: seconds, count (under the lock)
        self._errors_reported = 0
        self.all_done = threading.Event()
        self.closed = False  # set when the top-level submission is over
        self._submitted_at_close = 0
        self._threads: Dict[int, _ThreadRow] = {}  # thread workers: ident -> row
        self._seen_processes: Dict[int, Any] = {}  # process workers ever seen: pid -> Process
        self._reported_exits: set = set()

    # -- submission -----------------------------------------------------------

    def _count_submit(self, items: int) -> List[Any]:
        """This thread's submit counter, ``items`` more submitted (isolated
        pools; a thread pool's count is the ids it handed out)."""
        ident = threading.get_ident()
        counter = self._submit_counts.get(ident)
        if counter is None:
            counter = self._submit_counts[ident] = [0, 0.0, 0]
        if self.isolated:
            counter[0] += items
        return counter

    def _refuse(self, items: int) -> None:
        """The executor refused a submit (shut down, broken): never submitted."""
        if self.isolated:
            self._count_submit(-items)
        else:
            with self._lock:
                self._refused += items

    @property
    def submitted(self) -> int:
        """Tasks submitted so far (map chunks count their items)."""
        if not self.isolated:  # one id a task: the ids handed out, less the refused
            return ids_issued(self._ids) - self.first_id - self._refused
        return sum(c[0] for c in list(self._submit_counts.values()))

    def _finished_counts(self) -> Tuple[int, int]:
        """(finished, failed) over every writer."""
        self._collect()
        finished = failed = 0
        with self._lock:
            self._fold()
            for totals in (self._remote_totals, self._bare_totals, self._timed_totals):
                finished += totals.items
                failed += totals.failed
        return finished, failed

    def _fold(self) -> None:
        """Thread pools, under the lock: the timed tasks the workers finished, into the totals."""
        totals = self._timed_totals
        for row in list(self._threads.values()):
            records = row.records
            while records:
                totals.add_local(*records.popleft())

    @property
    def finished(self) -> int:
        return self._finished_counts()[0]

    @property
    def failed(self) -> int:
        return self._finished_counts()[1]

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        task_id = next(self._ids)
        if (self.sampled and task_id & self._own_mask and self._timed_until <= task_id < self._next_timed
                and self.clock() - self._last_timed_t < TIMED_GAP_S):
            # the hot path: a call not timed (_submit_bare, _submit_light), inline: every call here counts
            try:
                if self.remote:
                    self._count_submit(1)
                    future = self.executor.submit(self.remote_calls[2], task_id, fn, args, kwargs)
                else:
                    future = self.executor.submit(fn, *args, **kwargs)
            except BaseException:
                self._refuse(1)
                raise
            future._execscope_task = task_id  # type: ignore[attr-defined]
            self._bare.append(future)
            return future
        return self._submit_id(task_id, fn, args, kwargs, 1, False)

    def map_chunks(self, fn: Callable[..., Any], items: List[Any], chunksize: int,
                   kwargs: Dict[str, Any]) -> List[Future]:
        """``executor.map`` semantics: process pools send ``chunksize`` items per
        call (as CPython's ``_process_chunk`` does); thread pools one each."""
        if not self.isolated or chunksize <= 1:
            return [self._submit(fn, (item,), kwargs, 1, False) for item in items]
        futures = []
        for start in range(0, len(items), chunksize):
            chunk = items[start:start + chunksize]
            futures.append(self._submit(fn, chunk, kwargs, len(chunk), True))
        return futures

    def submit_all(self, fn: Callable[..., Any], items: Any, kwargs: Dict[str, Any],
                   between: Optional[Callable[[], None]] = None, futures: Optional[List[Future]] = None) -> None:
        """``fn(item, **kwargs)`` for each of ``items``, in one loop here (the
        runner's task list): a call not timed goes to the executor's submit
        from this loop, without a frame of ours around it.  ``between()`` runs
        every 64 items (the runner's tick); ``futures`` gets each future."""
        submit, ids, bare, clock, sampled = self.executor.submit, self._ids, self._bare, self.clock, self.sampled
        own_mask = self._own_mask
        light = self.remote_calls[2] if self.remote else None
        for item in items:
            task_id = next(ids)
            if (sampled and task_id & own_mask and self._timed_until <= task_id < self._next_timed
                    and clock() - self._last_timed_t < TIMED_GAP_S):
                try:
                    if light is None:
                        future = submit(fn, item, **kwargs)
                    else:
                        self._count_submit(1)
                        future = submit(light, task_id, fn, (item,), kwargs)
                except BaseException:
                    self._refuse(1)
                    raise
                future._execscope_task = task_id  # type: ignore[attr-defined]
                bare.append(future)
            else:
                future = self._submit_id(task_id, fn, (item,), kwargs, 1, False)
            if futures is not None:
                futures.append(future)
            if between is not None and not task_id & 63:
                between()

    def _submit(self, fn: Callable[..., Any], args: Any, kwargs: Dict[str, Any],
                items: int, chunk: bool) -> Future:
        return self._submit_id(next(self._ids), fn, args, kwargs, items, chunk)

    def _submit_id(self, task_id: int, fn: Callable[..., Any], args: Any, kwargs: Dict[str, Any],
                   items: int, chunk: bool) -> Future:
        try:
            return self._submit_as(task_id, fn, args, kwargs, items, chunk)
        except BaseException:
            self._refuse(items)
            raise

    def _submit_as(self, task_id: int, fn: Callable[..., Any], args: Any, kwargs: Dict[str, Any],
                   items: int, chunk: bool) -> Future:
        own = not task_id & self._own_mask
        if not task_id & _SWEEP_MASK and self.sampled:
            self._collect()  # finished futures go now, young, not at the next tick
        if self.sampled and not own and self._light(task_id, self.clock()):  # the hot path
            self._count_submit(items)
            if self.remote:
                return self._submit_light(fn, args, kwargs, items, chunk, task_id)
            return self._submit_bare(fn, args, kwargs, task_id)
        c0 = _cpu_clock() if own else 0.0
        counter = self._count_submit(items)
        t_submit = self.clock()
        if self.isolated:
            c1 = _cpu_clock() if own else 0.0
            weight = self.timed_weight(task_id, t_submit) if self.remote else 1
            if not weight:  # a light call: the worker counts it, the result comes back as it is
                future = self._submit_light(fn, args, kwargs, items, chunk, task_id)
                c2 = _cpu_clock() if own else 0.0
            else:
                if self.remote:
                    inner = self.executor.submit(self.remote_calls[chunk], task_id, fn, args, kwargs)
                else:  # a worker thread of this process pickles it (interp_pool.timed_run)
                    entry = interp_task.run_chunk if chunk else interp_task.run_task
                    inner = self.executor.submit(entry, self, task_id, fn, args, kwargs)
                c2 = _cpu_clock() if own else 0.0
                outer: Optional[Future] = None
                if self.deliver_results:
                    outer = Future()
                    outer.set_running_or_notify_cancel()
                inner.add_done_callback(functools.partial(self._remote_done, outer, task_id, items, t_submit,
                                                          weight))
                future = outer if outer is not None else inner
        else:
            c1 = _cpu_clock() if own else 0.0
            weight = self.timed_weight(task_id, t_submit)
            if weight:
                future = self.executor.submit(self._run_local, task_id, weight, t_submit, fn, args, kwargs)
            else:
                future = self._submit_bare(fn, args, kwargs, task_id)
            c2 = _cpu_clock() if own else 0.0
        # Lets a tick name the task a blocked worker waits for (see _inspect).
        future._execscope_task = task_id  # type: ignore[attr-defined]
        if own:
            # the tracker's own part of this submit: before and after the executor's
            counter[1] += max(0.0, (c1 - c0) + (_cpu_clock() - c2) - 2 * _CLOCK_READ_S)
            counter[2] += 1
        return future

    def _submit_light(self, fn: Callable[..., Any], args: Any, kwargs: Dict[str, Any], items: int, chunk: bool,
                      task_id: int) -> Future:
        """A call not timed phase by phase (the hot path of a process pool):
        the worker keeps its live state, the parent only counts the result
        (a sweep counts a single call's future, as a thread pool's bare ones)."""
        future = self.executor.submit(self.remote_calls[2 + chunk], task_id, fn, args, kwargs)
        future._execscope_task = task_id  # type: ignore[attr-defined]  (before the callback: it may be done)
        if items == 1 and isinstance(future, Future):
            self._bare.append(future)
        else:
            future.add_done_callback(self._light_done if items == 1 else
                                     functools.partial(self._light_done_items, items))
        return future

    def _submit_bare(self, fn: Callable[..., Any], args: Any, kwargs: Dict[str, Any], task_id: int) -> Future:
        """A thread-pool task not timed (the hot path): the executor's own
        future, counted when a sweep finds it done."""
        future = self.executor.submit(fn, *args, **kwargs)
        future._execscope_task = task_id  # type: ignore[attr-defined]
        self._bare.append(future)
        return future

    def _light(self, task_id: int, t: float) -> bool:
        """Not one of the calls to time (see the module's docstring)."""
        return self._timed_until <= task_id < self._next_timed and t - self._last_timed_t < TIMED_GAP_S

    def timed_weight(self, task_id: int, t: float) -> int:
        """0 for a light call, else how many calls this timed one stands for
        (itself and the light ones since the previous timed call)."""
        if self._light(task_id, t):
            return 0
        weight = max(1, task_id - self._last_timed_id)
        self._last_timed_id = task_id
        self._last_timed_t = t
        if self.timed_every > 1:
            self._gap_at = (self._gap_at + 1) % GAPS
            self._next_timed = task_id + self._gaps[self._gap_at]
        return weight

    # -- thread pools -----------------------------------------------------------

    def _call_pickled(self, obj: Any, seconds: float, nbytes: int) -> None:
        """Feeder thread: the executor just pickled a call item."""
        args = probes.call_item_args(obj)
        if args and type(args[0]) is int:
            self.serialized[args[0]] = (seconds, nbytes)

    def _thread_row(self) -> _ThreadRow:
        ident = threading.get_ident()
        row = self._threads.get(ident)
        if row is None:
            row = _ThreadRow(self.clock(), threading.get_native_id(), threading.current_thread().name)
            self._threads[ident] = row
        return row

    def _run_local(self, task_id: int, weight: int, t_submit: float, fn: Callable[..., Any],
                   args: tuple, kwargs: Dict[str, Any]) -> Any:
        # A timed thread-pool task, standing for ``weight`` tasks: keep it to
        # a few attribute stores (see benchmarks/instrumentation_overhead.py).
        clock = self.clock
        own = not task_id & self._own_mask
        c0 = _cpu_clock() if own else 0.0
        t_begin = clock()
        row = self._threads.get(threading.get_ident()) or self._thread_row()
        c1 = _cpu_clock() if own else 0.0
        row.state = RUNNING
        row.task = task_id
        row.since = t_begin
        ok = 1
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:
            ok = 0
            self._report_error(task_id, exc)
            raise
        finally:
            c2 = _cpu_clock() if own else 0.0
            t_end = clock()
            row.state = IDLE
            row.task = -1
            row.since = t_end
            row.done += weight
            row.busy_s += (t_end - t_begin) * weight
            row.records.append((ok, t_submit, t_begin, t_end, weight))
            # a task among the last ones checks for the end (after its totals
            # are written), so it is seen at once, not at the next tick
            if self._tail_from is not None and task_id >= self._tail_from:
                self.check_done()
            if own:
                # the wrapper's own part: before the call and after it
                row.own_s += max(0.0, (c1 - c0) + (_cpu_clock() - c2) - 2 * _CLOCK_READ_S)
                row.own_n += 1

    def _collect(self) -> None:
        """Count the bare tasks that finished (from the oldest on, up to the
        first still queued); a running one gets ``_bare_done`` to note its
        end.  A task that finished since the sweep before ended after it: that
        time is its end as far as the totals know (a lower bound).  The sweep
        reads and pops in C (``map``, ``starmap``): it runs for every task."""
        if self._light_count is not None:
            with self._lock:
                n, t_end = self._light_count()
                if n:
                    self._remote_totals.count_many(n, t_end)
        bare = self._bare
        if not bare:
            return
        c0 = _cpu_clock()
        running: List[Future] = []
        failures: List[Future] = []
        with self._lock:
            now = self.clock()
            done = 0
            # Popped before they are read, the ones from the first still
            # queued on put back in front: the deque is never iterated while
            # a submitter appends to it (a free-threaded build would let the
            # two overlap), and only what was popped is counted (read one by
            # one without a GIL, a later future can read finished after an
            # earlier one read queued).
            while bare:
                n = min(len(bare), SWEEP_WINDOW)
                if bare[0]._state == _PENDING:
                    break
                got = list(itertools.starmap(bare.popleft, itertools.repeat((), n)))
                states = list(map(_STATE, got))
                try:
                    k = states.index(_PENDING)
                except ValueError:
                    k = n
                if k < n:
                    bare.extendleft(reversed(got[k:]))
                    del got[k:], states[k:]
                finished = states.count(_FINISHED)
                if finished != k:  # running (or cancelled: never ran, never counted)
                    running += [f for f, state in zip(got, states) if state == _RUNNING]
                    got = [f for f, state in zip(got, states) if state == _FINISHED]
                if list(map(_EXCEPTION, got)).count(None) != finished:
                    failures += [f for f in got if f._exception is not None]
                done += finished
                if k < n or n < SWEEP_WINDOW:
                    break
            if done:
                self._bare_totals.count_many(done, self._swept_at)
            self._swept_at = now
        for future in running:
            future.add_done_callback(self._bare_done)
        for future in failures:
            self._report_error(getattr(future, "_execscope_task", -1), future._exception)
        with self._lock:
            # counted failed once reported: whoever sees them counted finds their errors
            self._bare_totals.failed += len(failures)
            self._sweep_s += _cpu_clock() - c0

    def _bare_done(self, future: Future) -> None:
        """A bare task seen running (or one of the last submitted) finished: count it, with its end."""
        t_end = self.clock()
        error = probes.future_error(future)
        if isinstance(error, CancelledError):
            return
        with self._lock:
            self._bare_totals.count(1, error is None, t_end)
        task_id = getattr(future, "_execscope_task", -1)
        if error is not None:
            self._report_error(task_id, error)
        if self.closed:
            self._end_check(task_id)

    def _tail_size(self) -> int:
        """How many of the last tasks note their own end (see TAIL_MIN)."""
        return max(TAIL_MIN, TAIL_PER_WORKER * (probes.max_workers(self.executor) or 1))

    def _adopt_tail(self) -> None:
        """At close: the last bare tasks get ``_bare_done`` now, so the end of
        the run is the end of its last task, not the sweep that saw it."""
        tail = self._tail_size()
        adopted = []
        with self._lock:
            while self._bare and len(adopted) < tail:
                adopted.append(self._bare.pop())
        for future in reversed(adopted):
            future.add_done_callback(self._bare_done)

    # -- process pools ------------------------------------------------------------

    def _light_done(self, future: Future) -> None:
        task_id = future._execscope_task  # type: ignore[attr-defined]
        if task_id & self._own_mask and probes.future_succeeded(future):  # the hot path
            t_end = self.clock()
            with self._lock:
                self._remote_totals.count(1, 1, t_end)
            if self.closed:
                self._end_check(task_id)
            return
        self.record_light(task_id, 1, probes.future_error(future))

    def _light_done_items(self, items: int, future: Future) -> None:
        self.record_light(future._execscope_task, items, probes.future_error(future))  # type: ignore[attr-defined]

    def record_light(self, task_id: int, items: int, error: Optional[BaseException]) -> None:
        """A light call finished (``error``: what it raised): count it."""
        own = not task_id & self._own_mask
        c0 = _cpu_clock() if own else 0.0
        t_end = self.clock()
        with self._lock:
            self._remote_totals.count(items, error is None, t_end)
        if error is not None:
            self._report_error(task_id, error)
        if self.closed:
            self._end_check(task_id)
        if own:
            spent = max(0.0, _cpu_clock() - c0 - _CLOCK_READ_S)
            with self._lock:
                self._done_own[0] += spent
                self._done_own[1] += 1

    def _remote_done(self, outer: Optional[Future], task_id: int, items: int, t_submit: float, weight: int,
                     inner: Future) -> None:
        t_got = self.clock()
        try:
            result, error = inner.result(), None
        except BaseException as reason:  # cancelled, unpicklable argument, broken pool
            result, error = None, reason
        ok, value = self.record_remote(result, error, task_id, items, t_submit, t_got, weight)
        if outer is not None:
            if ok:
                outer.set_result(value)
            else:
                outer.set_exception(value)

    def record_remote(self, result: Optional[tuple], error: Optional[BaseException], task_id: int,
                      items: int, t_submit: float, t_got: float, weight: int = 1) -> Tuple[bool, Any]:
        """A process worker's ``(status, result bytes, timings)`` for a task
        (or the ``error`` that stopped it) arrived at ``t_got``: add its phases
        to the totals, standing for ``weight`` calls.  Returns ``(True, the task's value)`` or ``(False, the
        exception to hand the caller)``."""
        own = not task_id & self._own_mask
        c0 = _cpu_clock() if own else 0.0
        ser_s, bytes_out = self.serialized.pop(task_id, (0.0, 0))
        if result is None:
            reason: BaseException = error if error is not None else TaskError("no result")
            self._report_error(task_id, reason)
            phases = Phases(queue=max(0.0, t_got - t_submit - ser_s), ser=ser_s, xfer=0.0, deser=0.0,
                            compute=0.0, rser=0.0, rxfer=0.0, rdeser=0.0)
            with self._lock:
                self._remote_totals.add(items, 0, t_submit, t_got, t_got, phases, bytes_out, 0, weight)
            self._end_check(task_id)
            return False, reason
        status, out, meta = result
        pid, t_header, t_begin, deser_s, t_c0, t_c1, rser_s, t_wend = meta
        # the worker's receive (header -> call started) includes its unpickling
        rdeser_s, bytes_in, value, ok = 0.0, 0, None, 1
        if status == "ok":
            bytes_in = len(out)
            c1 = _cpu_clock() if own else 0.0
            r0 = self.clock()
            try:
                value = pickle.loads(out)
            except Exception as load_exc:
                ok, out = 0, (type(load_exc).__name__ + ": " + str(load_exc), traceback.format_exc())
            t_end = self.clock()  # the result is the caller's once unpickled
            rdeser_s = t_end - r0
            c0 -= (_cpu_clock() - c1) if own else 0.0  # unpickling the result is the task's cost
        else:
            ok = 0
            t_end = self.clock()
        # positional, in BREAKDOWN_FIELDS order: queue ser xfer deser compute rser rxfer rdeser
        phases = Phases(max(0.0, t_header - t_submit - ser_s), ser_s, max(0.0, t_begin - t_header - deser_s),
                        deser_s, t_c1 - t_c0, rser_s, max(0.0, t_got - t_wend), rdeser_s)
        with self._lock:
            self._remote_totals.add(items, ok, t_submit, t_header, t_end, phases, bytes_out, bytes_in, weight)
        if self.closed:
            self._end_check(task_id)
        if own:
            # the tracker's own part of taking this result (not its unpickling)
            spent = max(0.0, _cpu_clock() - c0 - (3 if status == "ok" else 1) * _CLOCK_READ_S)
            with self._lock:
                self._done_own[0] += spent
                self._done_own[1] += 1
        if ok:
            return True, value
        self._report_error(task_id, None, out[0], out[1])
        return False, remote_exception(out)

    # -- bookkeeping ---------------------------------------------------------------

    def _end_check(self, task_id: int) -> None:
        """After close, a call among the last ones submitted, or one that
        brings the counts known without a sweep to the total, checks for the
        end when it finishes.  Not every call: ``check_done`` sweeps, and a
        sweep gives the running futures ``_bare_done``, which would sweep
        again as each finished: a sweep per task for as long as a deep queue
        drains after close.  Any other call finishing last is found at the
        next tick, its end exact all the same."""
        if self.closed and ((self._tail_from is not None and task_id >= self._tail_from) or
                            self._remote_totals.items + self._bare_totals.items >= self._submitted_at_close):
            self.check_done()

    def check_done(self) -> bool:
        """Set ``all_done`` once submission is closed and every task finished.
        Nested submissions come only from running tasks, so once every
        submitted task has finished nothing more can arrive."""
        if self.closed and self._finished_counts()[0] >= self.submitted:
            self.all_done.set()
        return self.all_done.is_set()

    def close_submission(self) -> None:
        """No more top-level tasks: done once all submitted ones finish."""
        self._submitted_at_close = self.submitted
        self._tail_from = self.first_id + self._submitted_at_close - self._tail_size()
        self.closed = True
        self._adopt_tail()
        self.check_done()

    def _report_error(self, task_id: int, exc: Optional[BaseException],
                      message: str = "", text: str = "") -> None:
        with self._lock:
            self._errors_reported += 1
            if self._errors_reported > MAX_REPORTED_ERRORS:
                return
        if exc is not None:
            message = describe_exception(exc)
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.errors.append({"task": task_id, "message": message, "traceback": text})

    def drain_errors(self) -> List[dict]:
        errors = []
        while self.errors:
            errors.append(self.errors.popleft())
        return errors

    def totals(self) -> Dict[str, Any]:
        """Cumulative totals over every finished task (protocol.TOTALS_FIELDS + hist)."""
        return self._merged().estimated().sent()

    def _merged(self) -> Totals:
        """Every writer's totals in one (sums of the timed calls, weighted)."""
        self._collect()
        with self._lock:
            self._fold()
            return Totals.merge([self._remote_totals, self._bare_totals, self._timed_totals])

    def timed_share(self) -> Optional[Tuple[int, int]]:
        """Pools that time a sample of their calls (threads, processes):
        (calls timed phase by phase, calls finished); None where every call
        is timed (interpreter pools)."""
        if not self.sampled:
            return None
        merged = self._merged()
        return merged.timed, merged.records

    def own_cost(self) -> Dict[str, Any]:
        """What the tracker's own work costs a task, timed on one task in
        ``every`` (by task id): ``submit_s`` per submit, ``finish_s`` per
        finished task (the thread wrapper around the call, or the handling of
        a process worker's result), ``per_task_s`` both together; None where
        nothing was timed yet.  ``timed`` and ``submit_timed`` count the timed
        finishes and submits (what a merge of several trackers weighs by)."""
        sub_s = sub_n = 0
        for counter in list(self._submit_counts.values()):
            sub_s += counter[1]
            sub_n += counter[2]
        fin_s = fin_n = 0
        for row in list(self._threads.values()):
            fin_s += row.own_s
            fin_n += row.own_n
        with self._lock:
            self._fold()
            fin_s += self._done_own[0]
            fin_n += self._done_own[1]
            timed, bare, sweep_s = self._timed_totals.timed, self._bare_totals.records, self._sweep_s
        submit = sub_s / sub_n if sub_n else None
        finish = fin_s / fin_n if fin_n else None
        if bare:
            # thread pools: the wrapper's mean on the timed tasks, the sweeps' seconds on the bare ones
            finish = ((finish or 0.0) * timed + sweep_s) / (timed + bare)
        per_task = (submit or 0.0) + (finish or 0.0) if submit is not None or finish is not None else None
        out = {"every": self._own_mask + 1, "timed": fin_n, "submit_timed": sub_n, "submit_s": submit,
               "finish_s": finish, "per_task_s": per_task}
        share = self.timed_share()
        if share is not None:  # process pools: how many calls had their phases timed
            out["phases_timed"], out["calls"] = share
        return out

    def new_exits(self) -> List[Tuple[int, int]]:
        """Process workers that ended since the last call, as (pid, exit code).

        A broken pool drops its processes (and shutdown forgets them), so every
        worker ever seen is kept: the one that died must be reported even when
        the pool lets go of it first.  A clean exit of a worker the pool has
        already dropped is an ordinary shutdown, not news."""
        current = probes.pool_processes(self.executor)
        self._seen_processes.update(current)
        out = []
        for pid, process in list(self._seen_processes.items()):
            code = process.exitcode
            if code is not None and pid not in self._reported_exits and (code != 0 or pid in current):
                self._reported_exits.add(pid)
                out.append((pid, code))
        return out

    # -- live state ------------------------------------------------------------

    def poll(self) -> Dict[str, Any]:
        """Counters, queue depth and one row per worker (protocol.WORKER_FIELDS)."""
        finished, failed = self._finished_counts()
        submitted = self.submitted
        state = {"submitted": submitted, "completed": finished - failed, "failed": failed}
        if self.remote:
            state.update(self._poll_processes(submitted - finished))
        else:
            state.update(self._poll_threads(submitted - finished))
        return state

    def _poll_threads(self, outstanding: int) -> Dict[str, Any]:
        """``outstanding``: tasks submitted and not finished, as ``poll`` counted them."""
        depth = probes.thread_queue_depth(self.executor)
        frames = sys._current_frames()
        # This thread's own frame holds ``frames`` among its locals: left in,
        # the dict and every thread's frame in it become a cycle that only the
        # GC frees, and its finalizers then run in whatever thread allocates
        # next (a BytesIO whose buffer a memoryview still exports prints
        # "Exception ignored ... BufferError" into the program's stderr).
        frames.pop(threading.get_ident(), None)
        rows, running, blocked, between = [], 0, 0, 0
        now = self.clock()
        # Tasks wait in the queue: a worker outside any task is between two
        # of them, busy.  Under the GIL a poll mostly runs just then (a worker
        # gives the GIL up at a task's end, in the executor's own locking), so
        # a pool of 1 ms tasks read 0/4 busy while it ran 1000 tasks a second.
        backlog = bool(depth) and not self.isolated and outstanding > 0
        for thread in probes.pool_threads(self.executor):
            ident = thread.ident
            row = self._threads.get(ident) if ident is not None else None
            if row is None and ident is not None and self.sampled and thread.native_id:
                # a worker that has run only bare tasks so far
                row = self._threads.setdefault(ident, _ThreadRow(now, thread.native_id, thread.name))
            if row is None:
                native = getattr(thread, "native_id", None) or 0
                rows.append(worker_row(key="t:%d" % native, label=thread.name, tid=native, state=IDLE))
                continue
            # read at once: the worker goes on writing its row meanwhile
            state, task, since, done, busy_s = row.state, row.task, row.since, row.done, row.busy_s
            waits_on = -1
            waits, bare = self._inspect(frames.get(ident))
            if bare is not None and state == IDLE:  # a bare task: since the poll that first saw it
                if row.seen_task != bare:
                    row.seen_task, row.seen_since = bare, now
                state, task, since = RUNNING, bare, row.seen_since
            elif state == IDLE and backlog:
                if row.seen_task != BETWEEN:
                    row.seen_task, row.seen_since = BETWEEN, now
                state, since = RUNNING, row.seen_since  # task -1: between two tasks
                between += 1
            if state == RUNNING:
                if waits is not None and waits != FOREIGN:
                    state, waits_on = BLOCKED, waits
                    blocked += 1
                else:
                    running += 1
            rows.append(worker_row(key=row.key, label=row.name, tid=row.native_id, state=state, task=task,
                                   since=since, done=done, busy_s=busy_s, blocked_on=waits_on,
                                   t_started=row.t_started))
        source = "executor" if depth is not None else "instrumentation"
        unfinished = max(0, outstanding - (running - between) - blocked)
        # shutdown() leaves a None wake-up sentinel in the work queue: it is
        # not a task, so never count more queued items than unfinished tasks.
        depth = unfinished if depth is None else min(depth, unfinished)
        return {
            "queued": depth,
            "queue_source": source,
            "dispatched": 0,
            "running": running,
            "blocked": blocked,
            "workers": rows,
        }

    def _inspect(self, frame: Any) -> Tuple[Optional[int], Optional[int]]:
        """A worker thread's stack, from its innermost frame: (what it waits
        for in concurrent.futures, the bare task it runs).  The first is a
        task id of this executor, -2 (a future nobody instrumented), FOREIGN
        (a task of another executor: the worker is busy, not starved), or
        None; the second a task id when the worker runs a task not timed
        (no ``_run_local`` frame under ``_WorkItem.run``), else None."""
        waits: Optional[int] = None
        depth = 0
        while frame is not None and depth < 64:
            code = frame.f_code
            if waits is None and code.co_name in _WAIT_FUNCTIONS and code.co_filename.endswith(_FUTURES_FILE):
                waits = self._waited_task(frame)
            elif code is _RUN_LOCAL_CODE:
                return waits, None
            elif code is _WORK_ITEM_RUN_CODE:
                if not self.sampled or self.isolated:
                    return waits, None
                try:
                    task = getattr(frame.f_locals.get("self").future, "_execscope_task", -2)
                except Exception:
                    task = -2
                return waits, task
            frame = frame.f_back
            depth += 1
        return waits, None

    def _waited_task(self, frame: Any) -> int:
        """The task a ``Future.result``/``wait`` frame waits for (see _inspect)."""
        try:
            local = frame.f_locals
            target = local.get("self")
            if not isinstance(target, Future):  # wait(fs) / as_completed(fs)
                target = next((f for f in (local.get("fs") or ()) if isinstance(f, Future)), None)
        except Exception:
            target = None
        task = getattr(target, "_execscope_task", -2)
        if task >= 0 and not self.first_id <= task < self.first_id + ID_SPAN:
            return FOREIGN
        return task

    def _poll_processes(self, outstanding: int) -> Dict[str, Any]:
        """``outstanding``: tasks submitted and not finished, as ``poll`` counted them."""
        undispatched, in_call_queue = probes.process_queue_depths(self.executor)
        rows, running = [], 0
        seen = set()
        current = probes.pool_processes(self.executor)
        if self.slots is not None:
            for slot in self.slots.read_all():
                pid = int(slot["pid"])
                if current and pid not in current:
                    continue  # a worker that ended (and was replaced: maxtasksperchild, a crash)
                seen.add(pid)
                state = slots.STATE_NAMES.get(int(slot["state"]), "idle")
                if state in ("running", "deserializing", "serializing", "receiving", "sending"):
                    running += 1
                rows.append(worker_row(key="p:%d" % pid, label="pid %d" % pid, pid=pid, state=state,
                                       task=int(slot["task"]), since=slot["since"], done=int(slot["done"]),
                                       busy_s=slot["busy_s"], t_started=slot["t_started"]))
        for pid in current:
            if pid not in seen:
                rows.append(worker_row(key="p:%d" % pid, label="pid %d" % pid, pid=pid, state="starting"))
        if undispatched is None:
            undispatched = max(0, outstanding - running)
            source = "instrumentation"
        else:
            source = "executor"
        return {
            "queued": undispatched + (in_call_queue or 0),
            "queue_source": source,
            "dispatched": in_call_queue or 0,
            "running": running,
            "blocked": 0,
            "workers": rows,
        }


class TaskError(Exception):
    """A task failed in a worker process (message carries the remote exception)."""


class RemoteTraceback(Exception):
    """The worker's traceback, chained as ``__cause__`` as CPython does."""

    def __str__(self) -> str:
        return "\n" + "".join(self.args)


def remote_exception(out: tuple) -> BaseException:
    """The task's own exception from a worker's ``(message, traceback, pickled)``,
    or a TaskError carrying the message when it cannot be rebuilt."""
    exc: Any = None
    if len(out) > 2 and out[2]:
        try:
            exc = pickle.loads(out[2])
        except Exception:
            exc = None
    if not isinstance(exc, BaseException):
        exc = TaskError(out[0])
    exc.__cause__ = RemoteTraceback(out[1])
    return exc


def describe_exception(exc: BaseException) -> str:
    text = str(exc)
    return type(exc).__name__ + (": " + text if text else "")


_RUN_LOCAL_CODE = Tracker._run_local.__code__
_WORK_ITEM_RUN_CODE = _thread_pool._WorkItem.run.__code__
