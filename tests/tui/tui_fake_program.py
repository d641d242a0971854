"""Scripted program and attach runs, for tests and benchmarks (no process).

``program_script`` plays ``execscope run -- python pipeline.py``: a thread
pool of 8 waiting on I/O and a fork process pool of 2 computing, both made in
``main``, the program printing a line per batch and exiting 0.
``attach_script`` plays ``execscope attach 4242`` on a 3-thread pool that
spins in pure Python: worker states from stacks, no queue, no task times.
The shapes (ids, labels, task-id ranges, what is unavailable) are those the
real session produces; the numbers are made up and deterministic.
"""

from __future__ import annotations

from dataclasses import replace
from typing import List, Tuple

from execscope.attach import UNAVAILABLE
from execscope.protocol import ID_SPAN
from execscope.model import (Alert, Breakdown, Counts, CpuView, ExecutorView, GilView, ProgramView,
                             RunConfig, Snapshot, WorkerView)
from fixtures.snapshots import INTERPRETER, cpu_view, machine, snap as snapshot, worker

HZ = 10
PID = 4242
GIL_OFF = GilView(source="unavailable", reason="py-spy cannot attach here (ptrace_scope=1, not root)")
UNAVAILABLE_ATTACH = UNAVAILABLE


def _cpu(cores: int, busy: float, k: int) -> CpuView:
    per_core = tuple(round(min(100.0, max(2.0, busy * 100.0 / cores + ((k * 7 + i * 13) % 11) - 5)), 1)
                     for i in range(cores))
    return cpu_view(cores, total=round(sum(per_core) / cores, 1), tree=round(busy * 96.0, 1), per_core=per_core,
                    tree_rss_bytes=90 * 2 ** 20)


def _thread_worker(i: int, k: int, task: int, running: bool, done: int) -> WorkerView:
    return worker(i, "running" if running else "idle", task=task if running else -1, age=0.01 * ((k + i) % 5),
                  done=done, cpu=1.0 if running else 0.0, key="t:%d" % (PID + 10 + i),
                  label="ThreadPoolExecutor-0_%d" % i, pid=PID, tid=PID + 10 + i, busy_s=0.05 * done)


def _process_worker(i: int, k: int, task: int, done: int) -> WorkerView:
    return worker(i, "running", process=True, task=task, age=0.004 * ((k + i) % 6), done=done, cpu=96.0 + i,
                  startup_s=0.012 + 0.002 * i, key="p:%d" % (PID + 50 + i), label="pid %d" % (PID + 50 + i),
                  pid=PID + 50 + i, busy_s=0.03 * done)


def program_script(config: RunConfig, cores: int = 2, *, seconds: float = 5.0,
                   finish: bool = True) -> List[Snapshot]:
    """The whole scripted program run, ten snapshots a second."""
    argv = tuple(config.argv) or ("python", "pipeline.py")
    cfg = config.with_(executor="program", workload=" ".join(argv), argv=argv, python="/usr/bin/python3")
    ticks = int(seconds * HZ)
    snaps: List[Snapshot] = []
    output: List[str] = []
    fetch_b = Breakdown(queue=0.025, compute=0.0504, tasks=0)
    crunch_b = Breakdown(queue=0.041, ser=2.2e-5, xfer=3.9e-5, deser=2.4e-5, compute=0.0105, rser=2e-6,
                         rxfer=0.0012, rdeser=1e-6, bytes_out=177, bytes_in=17, tasks=0)
    alert = Alert(kind="chunksize_too_small", severity="warning", t_s=1.2,
                  message="map(chunksize=1) pays ~3.8 ms of pickling and pipe round trip per call for ~10.6 ms "
                          "of compute per item: IPC is 26% of the work (process executor at pipeline.py:32)",
                  remedy="pass chunksize=8 to map: fewer, larger calls",
                  evidence={"ipc_share": 0.2612, "chunksize": 1, "suggested_chunksize": 8,
                            "ipc_s_per_call": 0.0038, "tasks_per_s": 81.37,
                            "worker_cpu_percent": {"pid 4292": 96.42, "pid 4293": 97.1},
                            "executor": "pipeline.py:32", "executor_id": "%d:2" % PID},
                  panel="breakdown")
    for k in range(1, ticks + 1):
        t = round(0.2 + k / HZ, 3)
        final = finish and k == ticks
        fetched = 16 * (k // 4)
        crunched = max(0, 16 * (k // 4) - 8 + (k % 4) * 2)
        if k % 4 == 0:
            output.append("batch %d: 16 pages, checksum %d" % (k // 4, 99850 + (k * 7) % 15))
        if final:
            output.append("done: %d batches" % (k // 4))
        fetching = not final and k % 4 < 2
        threads = tuple(_thread_worker(i, k, ID_SPAN + fetched + i, fetching, fetched // 8) for i in range(8))
        procs = tuple(_process_worker(i, k, 2 * ID_SPAN + crunched + i, crunched // 2) for i in range(2)) \
            if not final else ()
        state = "retired" if final else "live"
        fetch = ExecutorView(
            id="%d:1" % PID, created_at="pipeline.py:31", kind="thread", pid=PID, function="main",
            max_workers=8, default_max_workers=min(32, cores + 4), created_t_s=0.21, state=state,
            counts=Counts(submitted=fetched + (8 if fetching else 0), running=8 if fetching else 0,
                          completed=fetched),
            workers=threads if not final else (), throughput_per_s=0.0 if final else 80.0 + k % 5,
            mean_throughput_per_s=82.0, run_elapsed_s=t - 0.21, latency_s=(0.054, 0.102, 0.104),
            breakdown=replace(fetch_b, tasks=fetched), bound="io-bound" if k > 10 else None,
            cpu_per_running_worker=0.01)
        crunch = ExecutorView(
            id="%d:2" % PID, created_at="pipeline.py:32", kind="process", pid=PID, function="main",
            start_method="fork", max_workers=2, default_max_workers=cores, created_t_s=0.22, state=state,
            counts=Counts(submitted=crunched + 6, queued=0 if final else 4, dispatched=0 if final else 2,
                          running=0 if final else 2, completed=crunched + (6 if final else 0)),
            workers=procs, throughput_per_s=0.0 if final else 78.0 + k % 3, mean_throughput_per_s=80.0,
            run_elapsed_s=t - 0.22, latency_s=(0.051, 0.102, 0.132),
            breakdown=replace(crunch_b, tasks=crunched), ipc_bytes_sent=177 * crunched,
            ipc_bytes_received=17 * crunched, mode="map", chunksize=1, map_items=crunched + 6,
            bound="cpu-bound" if k > 10 else None, cpu_per_running_worker=0.96,
            alerts=(replace(alert, evidence={key: v for key, v in alert.evidence.items()
                                             if not key.startswith("executor")},
                            message=alert.message.split(" (process")[0]),) if k > 12 else ())
        if final:  # its conditions ended with it
            crunch = replace(crunch, alerts=tuple(replace(a, active=False, cleared_t_s=t) for a in crunch.alerts))
        executors = (fetch, crunch)
        counts = Counts(submitted=fetch.counts.submitted + crunch.counts.submitted,
                        queued=crunch.counts.queued, dispatched=crunch.counts.dispatched,
                        running=fetch.counts.running + crunch.counts.running,
                        completed=fetch.counts.completed + crunch.counts.completed)
        total = max(1, fetched + crunched)
        mixed = Breakdown(queue=(0.025 * fetched + 0.041 * crunched) / total,
                          compute=(0.0504 * fetched + 0.0105 * crunched) / total,
                          ser=crunch_b.ser * crunched / total, xfer=crunch_b.xfer * crunched / total,
                          deser=crunch_b.deser * crunched / total, rxfer=crunch_b.rxfer * crunched / total,
                          bytes_out=177 * crunched / total, bytes_in=17 * crunched / total, tasks=total)
        snap = snapshot(
            t, cfg, status="completed" if final else "running",
            machine=machine(cores), max_workers=10, run_elapsed_s=t - 0.21, counts=counts,
            workers=threads + procs if not final else (), throughput_per_s=0.0 if final else 160.0 + k % 7,
            mean_throughput_per_s=counts.finished / max(0.1, t - 0.21), latency_s=(0.053, 0.102, 0.13),
            bd=mixed if fetched else Breakdown(), ipc_bytes_sent=177 * crunched,
            ipc_bytes_received=17 * crunched, cpu=_cpu(cores, 0.1 if final else 2.05, k), gil=GIL_OFF,
            alerts=(replace(alert, active=not final, cleared_t_s=t if final else None),) if k > 12 else (),
            runner_threads=11, startup_s=0.21, source="program",
            executors=executors,
            program=ProgramView(argv=argv, pid=PID, exit_code=0 if final else None, instrumented=True,
                                processes=1, output_tail=tuple(output[-50:])))
        snaps.append(snap)
    return snaps


def attach_script(config: RunConfig, cores: int = 2, *, seconds: float = 4.0,
                  finish: bool = True, mode: str = "") -> List[Snapshot]:
    """``execscope attach 4242`` on a spinning 3-thread pool, then the process exits."""
    argv = ("/usr/bin/python3", "spin_pool.py", "3")
    cfg = config.with_(executor="attach", workload=" ".join(argv), argv=(), attach_pid=PID,
                       python="/usr/bin/python3.11", on_deadlock="wait")
    snaps: List[Snapshot] = []
    for k in range(1, int(seconds * HZ) + 1):
        t = round(0.1 + k / HZ, 3)
        final = finish and k == int(seconds * HZ)
        workers: Tuple[WorkerView, ...] = tuple(
            worker(i, "running", task=-1, age=t - 0.1, cpu=30.0 + (k + 3 * i) % 7,
                   runnable=1 if (k + i) % 3 == 0 else 0, key="t:%d" % (PID + 1 + i), label="spin_%d" % i,
                   pid=PID, tid=PID + 1 + i)
            for i in range(3))
        pool = ExecutorView(id="%d:spin" % PID, created_at="thread pool 'spin'", kind="thread", pid=PID,
                            max_workers=3, counts=Counts(running=3), workers=workers, run_elapsed_s=t,
                            queue_source="unavailable", bound="gil-bound" if k > 5 else None)
        snaps.append(snapshot(
            t, cfg, status="completed" if final else "running",
            reason="the process exited" if final else "",
            interpreter=dict(INTERPRETER, switch_interval_s=None), machine=machine(cores), max_workers=3,
            run_elapsed_s=t, counts=Counts(running=3), queue_source="unavailable", workers=workers,
            cpu=_cpu(cores, 1.0, k), gil=GIL_OFF, source="attach", executors=(pool,),
            program=ProgramView(argv=argv, pid=PID, mode=mode),
            unavailable=UNAVAILABLE_ATTACH + (("gil", GIL_OFF.reason),)))
    return snaps
