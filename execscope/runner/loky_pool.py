"""loky's reusable process executor (the engine of joblib's default backend) as ``--executor loky``.

loky's ``ProcessPoolExecutor`` keeps CPython's design (call queue, work ids,
``_processes``, an initializer), so the runner's Tracker drives it exactly as
it drives ``concurrent.futures``: tasks travel as ``worker.run_task`` calls,
timed in the worker.  loky is imported here only, when the run asks for it
(``pip install 'execscope[loky]'``).
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict

from . import probes, worker


def time_call_pickling(queues: Any = None) -> None:
    """loky's feeder thread pickles each call item with ``loky.backend.queues.dumps``
    (cloudpickle-capable), not multiprocessing's: time it there, reporting to
    the same hook as ``probes.time_queue_pickling``.  ``queues``: that module
    of another copy of loky (joblib's ``joblib.externals.loky.backend.queues``)."""
    if queues is None:
        from loky.backend import queues

    base = queues.dumps
    if getattr(base, "_execscope_timed", False):
        return

    def dumps(obj: Any, reducers: Any = None, protocol: Any = None) -> Any:
        hook = probes.pickle_hook("dumps")
        if hook is None or not probes.is_timed_call(obj):  # a light call: not worth two clock reads
            return base(obj, reducers=reducers, protocol=protocol)
        t0 = time.monotonic()
        buf = base(obj, reducers=reducers, protocol=protocol)
        hook(obj, time.monotonic() - t0, len(buf))
        return buf

    dumps._execscope_timed = True  # type: ignore[attr-defined]
    queues.dumps = dumps


def build(config: Dict[str, Any], run_dir: str) -> Any:
    from loky import get_reusable_executor

    time_call_pickling()

    # The workers are started by loky's own launcher ("loky": fork + exec on
    # POSIX), as children of this process, like spawn.
    executor = get_reusable_executor(max_workers=config.get("workers") or None, reuse=False,
                                     initializer=worker.init_worker, initargs=(run_dir, os.getpid(), "loky"))
    executor.start_method = "loky"
    return executor
