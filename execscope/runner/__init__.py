"""The runner process: the only place where workload code runs.

Data flow for one run (the execscope process on the left)::

    session ──spawn──► runner (own process group, chosen interpreter)
       ▲                 │ resolve workload, prepare, build executor
       │                 │ Tracker.submit ──► executor.submit ──► worker
       │  pipe: JSON     │      thread pool: _run_local times the call
       │  lines, 10 Hz   │      process pool: the feeder thread's pickle of
       └─────────────────┤        each call item is timed (probes), the
                         │        worker times transfer/unpickle/compute/
                         │        pickle, the done callback the way back
                         │ process workers write live state into slots
                         ▼ main thread: poll tracker + slots, send tick

Everything in this package is standard library only and Python 3.9 syntax:
``--python`` may name any CPython from 3.9 on, with none of execscope's
dependencies installed.
"""
