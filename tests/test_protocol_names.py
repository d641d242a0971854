"""Readers and writers of the runner's positional records (task totals, worker
rows) go by field name: with every field list of ``execscope.protocol``
reversed, a thread pool's rows and totals still read back right."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs in a fresh interpreter: the field lists are fixed at import.
CHECK = r'''
import os, sys, threading, time, types
from concurrent.futures import ThreadPoolExecutor

import execscope

reorder = sys.argv[1] == "reorder"
path = os.path.join(os.path.dirname(execscope.__file__), "protocol.py")
with open(path) as fh:
    source = fh.read()
marker = "WORKER_INDEX = "
assert source.count(marker) == 1
if reorder:
    source = source.replace(marker, "BREAKDOWN_FIELDS = BREAKDOWN_FIELDS[::-1]\n"
                                    "TOTALS_FIELDS = TOTALS_FIELDS[::-1]\n"
                                    "WORKER_FIELDS = WORKER_FIELDS[::-1]\n" + marker)
protocol = types.ModuleType("execscope.protocol")
protocol.__file__ = path
sys.modules["execscope.protocol"] = protocol
exec(compile(source, path, "exec"), protocol.__dict__)
execscope.protocol = protocol
assert (protocol.TOTALS_FIELDS[0] == "rdeser") == reorder
assert (protocol.WORKER_FIELDS[0] == "t_started") == reorder

from execscope.executors import combine_totals, with_pid
from execscope.runner.instrument import Phases, Totals, Tracker, combine
from execscope.runstate import RunState

# a real thread pool through the runner's tracker
gate = threading.Event()
def task(n):
    if n == 3:
        raise ValueError("three")
    gate.wait(10)
    return n

pool = ThreadPoolExecutor(2, thread_name_prefix="named")
tracker = Tracker(pool, "thread")
for n in range(6):
    tracker.submit(task, n)
tracker.close_submission()
fields = protocol.WORKER_FIELDS
deadline = time.monotonic() + 10
while True:  # both workers busy: their rows say so
    live = [dict(zip(fields, row)) for row in tracker.poll()["workers"]]
    if sum(w["state"] == "running" for w in live) == 2 or time.monotonic() > deadline:
        break
assert len(live) == 2, live
for w in live:
    assert w["key"] == "t:%d" % w["tid"] and w["tid"] > 0, w
    assert w["label"].startswith("named"), w
    assert w["state"] == "running" and 0 <= w["task"] < 6 and w["since"] > 0 and w["blocked_on"] == -1, w
    assert w["pid"] == 0 and w["t_started"] == 0.0, w
gate.set()
assert tracker.all_done.wait(10)
pool.shutdown()
state = tracker.poll()
rows = [dict(zip(fields, row)) for row in state["workers"]]
assert sum(w["done"] for w in rows) == 6 and all(w["busy_s"] > 0 for w in rows), rows
assert state["completed"] == 5 and state["failed"] == 1, state

totals = tracker.totals()
assert set(totals) == set(protocol.TOTALS_FIELDS) | {"hist"}
assert (totals["items"], totals["failed"], totals["records"]) == (6, 1, 6), totals
assert 0 < totals["first_submit"] <= totals["first_begin"] <= totals["last_end"], totals
assert totals["compute"] > 0 and totals["queue"] >= 0 and totals["ser"] == 0, totals
assert sum(totals["hist"].values()) == 6

# a process-pool record: each phase lands in its own field
remote = Totals()
phases = Phases(**{name: float(i + 1) for i, name in enumerate(("queue", "ser", "xfer", "deser", "compute",
                                                                 "rser", "rxfer", "rdeser"))})
t = totals["last_end"]  # after every task above
remote.add(3, 0, t + 1, t + 2, t + 3, phases, 700, 80)
one = combine([remote])
assert (one["items"], one["failed"], one["records"], one["bytes_out"], one["bytes_in"]) == (3, 3, 1, 700, 80)
assert (one["first_submit"], one["first_begin"], one["last_end"]) == (t + 1, t + 2, t + 3)
assert one["queue"] == 3.0  # one wait per item of the chunk
assert [one[n] for n in ("ser", "xfer", "deser", "compute", "rser", "rxfer", "rdeser")] == [2, 3, 4, 5, 6, 7, 8]

# the parent's side: summed totals, rows given their pid, start-up times by key
both = combine_totals([totals, one])
assert both["items"] == 9 and both["failed"] == 4 and both["compute"] == totals["compute"] + 5
assert both["first_submit"] == totals["first_submit"] and both["last_end"] == t + 3
row = protocol.worker_row(key="p:77", label="pid 77", pid=77, state="idle", t_started=5.5)
thread_row = protocol.worker_row(key="t:5", label="w", tid=5, state="idle")
assert [dict(zip(fields, r))["pid"] for r in with_pid({"pid": 42, "workers": [row, thread_row]})] == [77, 42]
run = RunState()
run.apply({"k": "tick", "t": 1.0, "completed": 5, "failed": 1, "totals": totals, "workers": [row]})
assert run.worker_started == {"p:77": 5.5}, run.worker_started
assert run.totals.items == 6 and run.totals.bytes_out == 0
print("names hold")
'''


def _check(order: str) -> None:
    out = subprocess.run([sys.executable, "-c", CHECK, order], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "names hold", out.stderr[-3000:]


def test_records_read_by_name_in_the_declared_order():
    _check("declared")


def test_records_read_by_name_with_every_field_list_reversed():
    _check("reorder")
