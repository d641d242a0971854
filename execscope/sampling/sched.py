"""What the scheduler knows about the run's threads, read from /proc (Linux).

Two facts per thread, both cheap to read (one small file each, no ptrace, no
root) and both independent of whatever else loads the machine:

- **state** (``/proc/PID/task/TID/stat``): ``R`` means on a CPU or in the run
  queue waiting for one; ``S``/``D`` mean asleep (socket, sleep, lock,
  condition variable).  A CPU-bound worker process, or a thread in NumPy with
  the GIL released, is ``R`` all the time whether or not it gets a core, so
  the number of ``R`` threads averaged over a second is the run's demand for
  CPUs: more than the usable CPUs is oversubscription.
- **voluntary context switches** (``/proc/PID/task/TID/status``): how often a
  thread went to sleep by itself.  A thread that computes pure Python while
  others want the GIL sleeps every switch interval (5 ms) waiting to get it
  back: ~170 voluntary switches a second, measured here on 2 and on 4 threads,
  with the box idle or saturated.  The same threads in NumPy matmul (GIL
  released): 2-4 a second.  External load causes *involuntary* switches,
  never voluntary ones, so a computing thread with a high voluntary rate is
  waiting for a lock (the GIL) whatever the machine is doing.  Switch counts
  are read only for the threads asked for (thread-pool workers).

A thread or process that ends between the listing and the read is skipped.
Elsewhere than Linux, or past ``MAX_THREADS`` threads, ``sample`` returns None.

    >>> parse_state("4242 (python3 (x)) R 1 4242 ...")
    'R'
    >>> parse_switches("Name:\\tpython3\\nvoluntary_ctxt_switches:\\t170\\nnonvoluntary_ctxt_switches:\\t3\\n")
    (170, 3)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, Iterable, Mapping, Optional, Sequence, Tuple

PROC = "/proc"
MAX_THREADS = 1024  # beyond this, reading every thread at 10 Hz is not worth it
RUNNABLE = "R"


def parse_state(stat_line: str) -> str:
    """The state letter of a ``/proc/.../stat`` line (the command may hold spaces and parens)."""
    end = stat_line.rfind(")")
    if end < 0 or end + 2 >= len(stat_line):
        return "?"
    return stat_line[end + 2]


def parse_switches(status_text: str) -> Optional[Tuple[int, int]]:
    """(voluntary, involuntary) context switches from a ``/proc/.../status`` text
    (found by their names, not by splitting fifty lines: read for every worker
    thread at every tick)."""
    vol = _field(status_text, "\nvoluntary_ctxt_switches:")
    invol = _field(status_text, "\nnonvoluntary_ctxt_switches:")
    if vol is None or invol is None:
        return None
    return vol, invol


def _field(text: str, name: str) -> Optional[int]:
    at = text.find(name)
    if at < 0:
        return None
    start = at + len(name)
    end = text.find("\n", start)
    try:
        return int(text[start:end] if end >= 0 else text[start:])
    except ValueError:
        return None


@dataclass(frozen=True)
class SchedReading:
    # pid -> {tid: state letter} for every process asked about
    states: Dict[int, Dict[int, str]] = field(default_factory=dict)
    # tid -> (voluntary, involuntary) context switches since the thread began
    switches: Dict[int, Tuple[int, int]] = field(default_factory=dict)

    def threads(self, pid: int) -> Optional[int]:
        found = self.states.get(pid)
        return len(found) if found is not None else None

    def runnable_in(self, pid: int) -> Optional[int]:
        found = self.states.get(pid)
        if found is None:
            return None
        return sum(1 for s in found.values() if s == RUNNABLE)

    def thread_runnable(self, pid: int, tid: int) -> Optional[int]:
        found = self.states.get(pid)
        if found is None or tid not in found:
            return None
        return 1 if found[tid] == RUNNABLE else 0

    def voluntary(self, tid: int) -> Optional[int]:
        found = self.switches.get(tid)
        return found[0] if found is not None else None

    @property
    def total_runnable(self) -> int:
        return sum(1 for threads in self.states.values() for s in threads.values() if s == RUNNABLE)

    @property
    def total_threads(self) -> int:
        return sum(len(threads) for threads in self.states.values())


def _read(path: str, limit: int) -> Optional[str]:
    try:
        with open(path, "rb") as fh:
            return fh.read(limit).decode("ascii", "replace")
    except OSError:
        return None


def sample(pids: Iterable[int], switch_tids: Optional[Mapping[int, Sequence[int]]] = None,
           proc: str = PROC) -> Optional[SchedReading]:
    """Thread states of each process in ``pids``, and the context switches of
    the threads named in ``switch_tids`` ({pid: [tid, ...]}); None where /proc
    cannot tell."""
    if not os.path.isdir(os.path.join(proc, "self", "task")):
        return None
    states: Dict[int, Dict[int, str]] = {}
    seen = 0
    for pid in pids:
        task_dir = os.path.join(proc, str(pid), "task")
        try:
            tids = os.listdir(task_dir)
        except OSError:
            continue
        seen += len(tids)
        if seen > MAX_THREADS:
            return None
        threads: Dict[int, str] = {}
        for name in tids:
            line = _read(os.path.join(task_dir, name, "stat"), 512)
            if line is not None:
                threads[int(name)] = parse_state(line)
        states[pid] = threads
    switches: Dict[int, Tuple[int, int]] = {}
    for pid, tids in (switch_tids or {}).items():
        for tid in tids:
            text = _read(os.path.join(proc, str(pid), "task", str(tid), "status"), 8192)
            found = parse_switches(text) if text else None
            if found is not None:
                switches[tid] = found
    return SchedReading(states, switches)
