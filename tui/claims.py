"""One line per claim of the article, for the picker and the tour banner.

The full table (with what execscope shows for each) lives in the project's
claims notes; these are the short titles a 80-column screen has room for.
"""

from __future__ import annotations

from typing import Dict, Iterable, List

CLAIMS: Dict[str, str] = {
    "C1": "one thread runs bytecode at a time; the GIL is handed over every switch interval",
    "C2": "CPU-bound pure Python does not scale in a thread pool",
    "C3": "blocking I/O releases the GIL, so threads scale I/O-bound work",
    "C4": "the default max_workers follows the CPUs the interpreter sees, not the quota",
    "C5": "waiting on your own pool from inside it starves it into a deadlock",
    "C6": "processes have a GIL each: CPU-bound work scales with cores",
    "C7": "arguments and results cross processes by pickle, at a cost",
    "C8": "big data with little compute makes processes slower than serial",
    "C9": "a larger chunksize in map cuts IPC round trips",
    "C10": "shared memory avoids the copy",
    "C11": "fork is fast but unsafe with threads; spawn is slow but clean",
    "C12": "per-task overhead: microseconds for threads, much more for processes",
    "C13": "C code that releases the GIL lets threads beat processes",
    "C14": "free-threaded builds let threads scale pure Python",
}


def claim_lines(ids: Iterable[str]) -> List[str]:
    """``["C2  CPU-bound pure Python ...", ...]`` for the given ids, unknown ids kept."""
    return ["%-4s %s" % (cid, CLAIMS.get(cid, "")) for cid in ids]
