"""Detectors as pure functions: hand-built snapshot histories, no processes, no clocks."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from execscope import detect
from execscope.detect import AlertBook, Finding, evaluate
from execscope.detect.base import delta_breakdown, task_window, warm_base
from execscope.detect.ipc import ipc_figures
from execscope.model import Counts
from fixtures.snapshots import (breakdown, cpu_view, process_config, snap, thread_config, timeline,
                                worker)


def replay(history, detectors=detect.DETECTORS):
    """Run detectors + AlertBook over a history tick by tick, as the session does."""
    book = AlertBook()
    seen = []
    for s in history:
        findings = evaluate(seen + [s], detectors, strict=True)
        seen.append(replace(s, alerts=book.update(findings, s.t_s)))
    return seen, book


def kinds(history):
    return {f.kind for f in evaluate(history, strict=True)}


# -- AlertBook ----------------------------------------------------------------------

def test_alertbook_raises_updates_and_clears():
    book = AlertBook()
    f1 = Finding("starvation", "warning", "m1", "r", {"n": 1}, "queue", since_t_s=0.5)
    alerts = book.update([f1], t_s=1.0)
    assert [(a.kind, a.t_s, a.active) for a in alerts] == [("starvation", 0.5, True)]
    f2 = replace(f1, severity="critical", message="m2", evidence={"n": 2})
    alerts = book.update([f2], t_s=1.1)
    assert len(alerts) == 1 and alerts[0].severity == "critical" and alerts[0].evidence == {"n": 2}
    assert alerts[0].t_s == 0.5  # the start stays
    alerts = book.update([], t_s=1.2)
    assert alerts[0].active is False and alerts[0].cleared_t_s == 1.2
    alerts = book.update([f1], t_s=2.0)  # a new episode is a new alert
    assert [a.active for a in alerts] == [True, False]
    assert alerts[0].t_s == 1.2  # not before the previous episode ended


def test_alertbook_never_dates_an_alert_in_the_future():
    book = AlertBook()
    alerts = book.update([Finding("worker_crash", "critical", "m", "r", since_t_s=9.0)], t_s=1.0)
    assert alerts[0].t_s == 1.0


def test_evaluate_skips_a_broken_detector_unless_strict():
    def broken(history):
        raise RuntimeError("bug")

    h = [snap(0.0, thread_config())]
    assert evaluate(h, (broken,)) == []
    with pytest.raises(RuntimeError):
        evaluate(h, (broken,), strict=True)
    assert evaluate([], strict=True) == []


def test_every_kind_has_a_detector():
    assert set(detect.KINDS) == {d.__name__ for d in detect.DETECTORS}


# -- windows ---------------------------------------------------------------------------

def test_delta_breakdown_is_the_mean_of_the_tasks_in_between():
    older = breakdown(10, compute=0.01, ser=0.001, bytes_out=100)
    # 10 more tasks at compute 0.03, ser 0.003, 300 bytes: cumulative means over 20
    newer = breakdown(20, compute=0.02, ser=0.002, bytes_out=200)
    d = delta_breakdown(older, newer)
    assert d.tasks == 10
    assert d.compute == pytest.approx(0.03) and d.ser == pytest.approx(0.003) and d.bytes_out == pytest.approx(300)
    assert delta_breakdown(newer, newer).tasks == 0


def test_task_window_stretches_back_until_enough_tasks():
    cfg = process_config()
    # one task finishes every 0.5 s
    h = timeline(lambda t: snap(t, cfg, bd=breakdown(int(t / 0.5), compute=0.01),
                                counts=Counts(completed=int(t / 0.5))), seconds=3.0)
    w = task_window(h, seconds=1.0, min_tasks=3)
    assert w is not None and w.breakdown.tasks >= 3 and w.seconds >= 1.0
    assert task_window(h[:4], seconds=1.0, min_tasks=3) is None


def test_warm_base_waits_for_every_busy_worker_first_task():
    cfg = process_config(method="spawn")

    def build(t):
        done1 = 1 if t >= 0.3 else 0
        done2 = 1 if t >= 0.6 else 0
        return snap(t, cfg, workers=(worker(1, process=True, done=done1), worker(2, process=True, done=done2)))

    h = timeline(build, seconds=1.0)
    assert h[warm_base(h)].t_s == pytest.approx(0.6)
    # a worker that never got a task does not hold it back
    idle = [replace(s, workers=(s.workers[0], worker(3, "idle", process=True))) for s in h]
    assert idle[warm_base(idle)].t_s == pytest.approx(0.3)


# -- starvation ------------------------------------------------------------------------------

def _recursive(t, blocked_at=(0.3, 0.5), queued=6, workers=2):
    rows = []
    for n, at in enumerate(blocked_at, start=1):
        start = 0.1 * (n - 1)
        state = "blocked" if t >= at else "running"
        rows.append(worker(n, state, task=n - 1, since_s=start, age=t - start,
                           blocked_on=10 + n if state == "blocked" else -1))
    blocked = sum(1 for w in rows if w.state == "blocked")
    return snap(t, thread_config(workers, "recursive_submit"), workers=rows,
                counts=Counts(submitted=8, queued=queued, running=len(rows) - blocked, blocked=blocked))


def test_starvation_deadlock_fires_when_the_last_worker_blocks():
    h = timeline(_recursive, seconds=1.0)
    first = next(i for i in range(len(h)) if "starvation" in kinds(h[:i + 1]))
    assert h[first].t_s == pytest.approx(0.5)  # the very tick that sees it
    f = detect.starvation(h)
    assert f.severity == "critical" and f.panel == "workers"
    assert f.evidence["blocked_workers"] == ["worker_1", "worker_2"]
    assert f.evidence["waiting_on_tasks"] == [11, 12] and f.evidence["queued"] == 6
    # started between the last tick that saw worker_2 running and the one that saw it blocked
    assert 0.4 <= f.since_t_s <= 0.5


def test_starvation_needs_every_worker_blocked_and_work_queued():
    half = detect.starvation(timeline(lambda t: _recursive(t, blocked_at=(0.3, 9.0)), 1.0))
    assert half.severity == "warning" and half.evidence["form"] == "starving"  # the soft form, not a deadlock
    assert detect.starvation(timeline(lambda t: _recursive(t, queued=0), 1.0)) is None
    cfg = process_config()
    h = [replace(s, config=cfg) for s in timeline(_recursive, 1.0)]
    assert detect.starvation(h) is None


def _starving(t, blocked=2, queued=8, workers=4, rate=10.0):
    rows = [worker(n, "blocked" if n <= blocked else "running", task=n, blocked_on=20 + n if n <= blocked else -1)
            for n in range(1, workers + 1)]
    done = int(t * rate)
    return snap(t, thread_config(workers, "recursive_submit"), workers=rows,
                counts=Counts(submitted=30, queued=queued, running=workers - blocked, blocked=blocked,
                              completed=done),
                bd=breakdown(done, queue=0.4, compute=0.1))


def test_soft_starvation_after_half_a_second_of_blocked_workers_and_a_queue():
    h = timeline(_starving, seconds=1.0)
    assert detect.starvation(h[:5]) is None  # not yet half a second of it
    assert detect.starvation(h[:6]) is not None
    f = detect.starvation(h)
    assert f.severity == "warning" and f.evidence["form"] == "starving" and f.panel == "queue"
    assert f.evidence["free_workers"] == 2 and f.evidence["queued"] == 8
    assert f.evidence["expected_queue_wait_s"] == pytest.approx(8 / 10.0, rel=0.1)
    assert f.since_t_s == pytest.approx(0.0)


def test_soft_starvation_stays_quiet_when_the_free_workers_keep_up():
    assert detect.starvation(timeline(lambda t: _starving(t, queued=1), 1.0)) is None
    assert detect.starvation(timeline(lambda t: _starving(t, blocked=1), 1.0)) is None
    assert detect.starvation(timeline(lambda t: _starving(t, blocked=0, queued=50), 1.0)) is None


# -- pickle bottleneck and chunksize ----------------------------------------------------------

def _ipc_run(t, cfg=None, rate=10.0, start=0.2, ipc=(0.03, 0.02, 0.03, 0.0, 0.0, 0.0), compute=0.0005,
             bytes_out=8e6, bytes_in=20, **kw):
    cfg = cfg or process_config(workload="pickle_heavy")
    done = max(0, int((t - start) * rate)) if t >= start else 0
    ser, xfer, deser, rser, rxfer, rdeser = ipc
    bd = breakdown(done, ser=ser, xfer=xfer, deser=deser, rser=rser, rxfer=rxfer, rdeser=rdeser,
                   compute=compute, bytes_out=bytes_out, bytes_in=bytes_in)
    workers = [worker(n, process=True, done=done // 2) for n in (1, 2)]
    return snap(t, cfg, workers=workers, counts=Counts(submitted=40, completed=done), bd=bd,
                startup_s=0.1, **kw)


def test_pickle_bottleneck_large_arguments_tiny_compute():
    h = timeline(_ipc_run, seconds=1.5)
    f = detect.pickle_bottleneck(h)
    assert f is not None and f.panel == "breakdown"
    ev = f.evidence
    assert ev["ipc_share"] == pytest.approx(0.08 / 0.0805, abs=0.01)
    assert ev["bytes_out_per_task"] == 8000000
    assert ev["mib_per_s"] == pytest.approx(8e6 / 0.08 / 2 ** 20, rel=0.01)
    assert ev["slower_than_serial"] is True and ev["case"] == "arguments"
    assert "thread pool" in f.remedy and "shared_memory" in f.remedy
    assert "%.0f%%" % (100 * ev["ipc_share"]) in f.message
    assert f.since_t_s >= 0.1


def test_pickle_bottleneck_within_two_seconds_of_start():
    h = timeline(_ipc_run, seconds=2.0)
    first = next(i for i in range(len(h)) if "pickle_bottleneck" in kinds(h[:i + 1]))
    assert h[first].t_s <= 2.0


def test_pickle_bottleneck_remedy_matches_the_case():
    results = timeline(lambda t: _ipc_run(t, ipc=(0.0, 0.0, 0.0, 0.03, 0.02, 0.03), bytes_out=100,
                                          bytes_in=8e6), 1.5)
    f = detect.pickle_bottleneck(results)
    assert f.evidence["case"] == "results" and "return less" in f.remedy
    small = timeline(lambda t: _ipc_run(t, ipc=(1e-5, 1e-4, 1e-5, 1e-5, 1e-4, 1e-5), compute=2e-5,
                                        bytes_out=80, bytes_in=20, rate=1000, cpu=cpu_view(usable=4)), 1.5)
    f = detect.pickle_bottleneck(small)
    assert f.evidence["case"] == "per_call_overhead" and "fewer, larger tasks" in f.remedy
    # the same tiny calls with every usable CPU held by a busy worker: the
    # hand-offs wait for the parent, and the remedy says to leave it a CPU
    starved = timeline(lambda t: _ipc_run(t, ipc=(1e-5, 1e-4, 1e-5, 1e-5, 1e-3, 1e-5), compute=1e-3,
                                          bytes_out=80, bytes_in=20, rate=500, cpu=cpu_view(usable=2)), 1.5)
    f = detect.pickle_bottleneck(starved)
    assert f.evidence["case"] == "parent_starved" and f.evidence["busy_workers"] == 2
    assert "leave the parent a CPU" in f.remedy and "use 1 worker," in f.remedy
    heavy = timeline(lambda t: _ipc_run(t, compute=0.03), 1.5)  # compute a real part of the task
    f = detect.pickle_bottleneck(heavy)
    assert f.evidence["case"] == "arguments"
    assert f.remedy.startswith("put the data in multiprocessing.shared_memory")


def test_pickle_bottleneck_when_the_pool_is_slower_than_one_thread():
    # IPC 30% of the service time; one thread would do 100 tasks/s, the pool does 20
    slow = timeline(lambda t: _ipc_run(t, ipc=(0.002, 0.001, 0.0013, 0, 0, 0), compute=0.01, rate=20), 1.5)
    f = detect.pickle_bottleneck(slow)
    assert f is not None and f.evidence["slower_than_serial"] is True
    fast = timeline(lambda t: _ipc_run(t, ipc=(0.002, 0.001, 0.0013, 0, 0, 0), compute=0.01, rate=180), 1.5)
    assert detect.pickle_bottleneck(fast) is None


def test_pickle_bottleneck_quiet_for_healthy_or_thread_runs():
    healthy = timeline(lambda t: _ipc_run(t, ipc=(1e-5, 1e-4, 1e-5, 1e-5, 1e-4, 1e-5), compute=0.01,
                                          bytes_out=100, rate=200), 1.5)
    assert kinds(healthy) == set()
    threads = [replace(s, config=thread_config(workload="pickle_heavy")) for s in timeline(_ipc_run, 1.5)]
    assert "pickle_bottleneck" not in kinds(threads)


def test_pickle_bottleneck_reads_a_window_not_the_run_total():
    def build(t):
        # 2 s of healthy tasks (20/s), then tasks with 0.2 s of IPC each (5/s)
        good = min(t, 2.0) * 20
        bad = max(0.0, t - 2.0) * 5
        n = int(good) + int(bad)
        ipc = 0.2 * int(bad)
        bd = breakdown(n, ser=ipc / n if n else 0, compute=0.01 * int(good) / n if n else 0, bytes_out=1e6)
        return snap(t, process_config(), workers=[worker(1, process=True, done=n)], bd=bd,
                    counts=Counts(completed=n))

    h = timeline(build, seconds=3.6)
    assert "pickle_bottleneck" not in kinds(h[:21])
    f = detect.pickle_bottleneck(h)
    assert f is not None and f.evidence["ipc_share"] > 0.9 > f.evidence["run_ipc_share"]


def test_spawn_first_tasks_do_not_count_as_ipc():
    cfg = process_config(method="spawn")

    def build(t):
        # each worker's first task takes 0.3 s to unpickle (module import); later ones 10 us
        done = max(0, int((t - 0.4) * 50)) + (2 if t >= 0.4 else 0)
        first = min(done, 2)
        later = done - first
        deser = (first * 0.3 + later * 1e-5) / done if done else 0
        bd = breakdown(done, deser=deser, compute=0.01, bytes_out=100)
        rows = [worker(n, process=True, done=(1 + later // 2) if t >= 0.4 else 0) for n in (1, 2)]
        return snap(t, cfg, workers=rows, bd=bd, counts=Counts(completed=done))

    h = timeline(build, seconds=1.5)
    assert detect.pickle_bottleneck(h) is None
    # fork has no such excuse: its figures count the first tasks (and a blip of
    # two slow tasks is then left to SUSTAIN_S, see the next test)
    forked = [replace(s, config=process_config(method="fork")) for s in h]
    fig = ipc_figures(forked[:8])
    assert not fig.warm and fig.share > 0.5
    spawned = ipc_figures(h[:8])
    assert spawned is None or (spawned.warm and spawned.share < 0.5)


def test_pickle_bottleneck_not_raised_for_a_slow_first_few_tenths():
    """A fork pool's first tasks hand off slowly (workers starting, a parent
    busy submitting) and then the pool runs clean: no alert for the blip."""
    cfg = process_config(method="fork")

    def build(t):
        done = int(t * 100)
        slow = min(done, 30)  # the tasks finished in the first 0.3 s
        xfer = (slow * 0.02 + (done - slow) * 1e-5) / done if done else 0
        bd = breakdown(done, xfer=xfer, compute=0.01, bytes_out=100)
        rows = [worker(n, process=True, done=done // 2) for n in (1, 2)]
        return snap(t, cfg, workers=rows, bd=bd, counts=Counts(completed=done))

    h = timeline(build, seconds=3.0)
    assert not any("pickle_bottleneck" in kinds(h[:i + 1]) for i in range(len(h)))  # at every tick


def _map_run(t, chunksize=1, items=4000, per_item_ipc=3e-4, compute=2e-6, item_bytes=100):
    cfg = process_config(workload="chunksize", tasks=items, params={"chunksize": str(chunksize)})
    done = min(items, int(t * 3000))
    bd = breakdown(done, ser=per_item_ipc * 0.1, xfer=per_item_ipc * 0.4, rxfer=per_item_ipc * 0.5,
                   compute=compute, bytes_out=item_bytes * 0.8, bytes_in=item_bytes * 0.2)
    rows = [worker(n, process=True, done=done // 2) for n in (1, 2)]
    return snap(t, cfg, workers=rows, bd=bd, counts=Counts(completed=done, submitted=items),
                mode="map", chunksize=chunksize)


def test_chunksize_too_small_suggests_a_chunksize_from_the_costs():
    h = timeline(_map_run, seconds=1.0)
    f = detect.chunksize_too_small(h)
    assert f is not None and f.panel == "breakdown"
    ev = f.evidence
    # wanted: IPC 10% of a chunk's compute = ceil(3e-4 / (0.1 * 2e-6)) = 1500; capped at 4000 / (4 * 2)
    assert ev["suggested_chunksize"] == 500
    assert ev["chunksize"] == 1 and ev["ipc_s_per_call"] == pytest.approx(3e-4, rel=0.01)
    assert ev["expected_ipc_share"] < ev["ipc_share"]
    assert "about 500" in f.remedy
    assert "pickle_bottleneck" not in kinds(h)  # one alert for one cause


def test_chunksize_suggestion_uncapped_when_there_are_many_items():
    h = timeline(lambda t: _map_run(t, chunksize=4, items=10 ** 6, per_item_ipc=3e-4 / 4, compute=1e-5), 1.0)
    f = detect.chunksize_too_small(h)
    assert f.evidence["suggested_chunksize"] == math.ceil(3e-4 / (0.1 * 1e-5))


def test_chunksize_quiet_when_chunks_cannot_grow_or_items_are_big():
    capped = timeline(lambda t: _map_run(t, chunksize=500, per_item_ipc=1e-6, compute=1e-6), 1.0)
    assert detect.chunksize_too_small(capped) is None
    # a run that took the suggestion (453 here) is not told to nudge it to the cap (500)
    taken = timeline(lambda t: _map_run(t, chunksize=453, per_item_ipc=1e-5, compute=1e-6), 1.0)
    assert detect.chunksize_too_small(taken) is None
    doubled = timeline(lambda t: _map_run(t, chunksize=200, per_item_ipc=1e-5, compute=1e-6), 1.0)
    assert detect.chunksize_too_small(doubled).evidence["suggested_chunksize"] == 500
    big = timeline(lambda t: _map_run(t, item_bytes=1e6), 1.0)
    assert detect.chunksize_too_small(big) is None
    assert detect.pickle_bottleneck(big) is not None
    healthy = timeline(lambda t: _map_run(t, per_item_ipc=1e-6, compute=1e-4), 1.0)
    assert kinds(healthy) == set()


# -- GIL contention -------------------------------------------------------------------------------

def _threads(t, cpus=(48.0, 48.0), switches=170, usable=2, total=50.0, tree=None, gil_wait=None,
             state="running", executor_config=None):
    rows = [worker(n, state, cpu=c, vol=int(t * switches) if switches is not None else None, gil_wait=gil_wait)
            for n, c in enumerate(cpus, start=1)]
    tree = sum(cpus) if tree is None else tree
    return snap(t, executor_config or thread_config(len(cpus)), workers=rows,
                cpu=cpu_view(usable=usable, total=total, tree=tree))


def test_gil_contention_from_voluntary_switches_on_a_busy_machine():
    h = timeline(lambda t: _threads(t, cpus=(28.0, 27.0), total=100.0), seconds=1.0)
    f = detect.gil_contention(h)
    assert f is not None and f.evidence["source"] == "scheduler" and f.panel == "workers"
    assert f.evidence["voluntary_switches_per_s"] == pytest.approx(170, rel=0.05)
    assert f.evidence["pool_cpu_percent"] == pytest.approx(55)
    assert "ProcessPoolExecutor" in f.remedy and "free-threaded" in f.remedy


def test_gil_contention_quiet_for_gil_releasing_io_or_parallel_threads():
    numpy_like = timeline(lambda t: _threads(t, cpus=(48.0, 48.0), switches=3, total=100.0), 1.0)
    assert detect.gil_contention(numpy_like) is None
    io_like = timeline(lambda t: _threads(t, cpus=(1.0, 0.5), switches=450), 1.0)
    assert detect.gil_contention(io_like) is None
    mixed = timeline(lambda t: _threads(t, cpus=(95.0, 0.5), switches=200), 1.0)
    assert detect.gil_contention(mixed) is None
    parallel = timeline(lambda t: _threads(t, cpus=(97.0, 96.0), switches=170), 1.0)
    assert detect.gil_contention(parallel) is None
    one_cpu = timeline(lambda t: _threads(t, usable=1), 1.0)
    assert detect.gil_contention(one_cpu) is None
    procs = timeline(lambda t: _threads(t, executor_config=process_config()), 1.0)
    assert detect.gil_contention(procs) is None
    free = [replace(s, interpreter={"gil_enabled": False}) for s in timeline(_threads, 1.0)]
    assert detect.gil_contention(free) is None


def test_gil_contention_from_cpu_alone_needs_idle_cpu():
    # two threads at 48% each (the pool: 96% of one core); the machine is 50% busy
    # of 2 CPUs = 100, of which 96 are ours and 4 someone else's: idle = 200 - 4 - 96
    idle = timeline(lambda t: _threads(t, switches=None, total=50.0), 1.0)
    f = detect.gil_contention(idle)
    assert f is not None and f.evidence["source"] == "cpu"
    assert f.evidence["idle_cpu_percent"] == pytest.approx(200 - (100 - 96) - 96, abs=1)
    loaded = timeline(lambda t: _threads(t, switches=None, total=100.0), 1.0)  # another process takes a core
    assert detect.gil_contention(loaded) is None


def test_gil_contention_from_the_gil_sampler():
    h = timeline(lambda t: _threads(t, switches=None, total=100.0, gil_wait=0.62), 1.0)
    f = detect.gil_contention(h)
    assert f.evidence["gil_wait_mean"] == pytest.approx(0.62)
    h = timeline(lambda t: _threads(t, switches=None, total=100.0, gil_wait=0.05), 1.0)
    assert detect.gil_contention(h) is None


def test_gil_contention_clears_when_the_threads_stop():
    h = timeline(_threads, 1.0) + timeline(lambda t: _threads(t, state="idle", cpus=(0.0, 0.0)), 1.0, start=1.1)
    out, book = replay(h, (detect.gil_contention,))
    assert any(a.kind == "gil_contention" and a.active for a in out[10].alerts)
    alert = out[-1].alerts[0]
    assert alert.active is False and 1.1 <= alert.cleared_t_s <= 2.1


# -- oversubscription -----------------------------------------------------------------------------

def _procs(t, runnable=(1, 1, 1, 1), usable=2, tree=200.0, state="running", threads=None):
    rows = [worker(n, state, process=True, runnable=r, cpu=tree / len(runnable), threads=threads)
            for n, r in enumerate(runnable, start=1)]
    return snap(t, process_config(len(rows)), workers=rows, cpu=cpu_view(usable=usable, tree=tree))


def test_oversubscription_more_busy_workers_than_usable_cpus():
    f = detect.oversubscription(timeline(_procs, 1.0))
    assert f is not None and f.panel == "cores" and f.evidence["case"] == "workers"
    assert f.evidence["runnable_threads_mean"] == 4 and f.evidence["usable_cpus"] == 2
    assert "max_workers=2" in f.remedy


def test_oversubscription_threads_inside_process_workers():
    f = detect.oversubscription(timeline(lambda t: _procs(t, runnable=(2, 2), threads=2), 1.0))
    assert f.evidence["case"] == "threads_in_workers" and f.evidence["runnable_per_busy_worker"] == 2
    assert "OPENBLAS_NUM_THREADS" in f.remedy


def test_oversubscription_inside_workers_keeps_its_case_while_it_holds():
    """Two process workers with BLAS threads on two CPUs: once raised, the
    alert holds on fewer runnable threads (KEEP_EXTRA); demand past the CPUs
    with no more busy workers than CPUs still comes from inside the workers,
    not from "2 workers want a CPU" (a real run flipped to that, 1 in ~10)."""
    raised = timeline(lambda t: _procs(t, runnable=(2, 2), threads=2), 1.0)
    calmer = timeline(lambda t: _procs(t, runnable=(2, 1) if round(t * 10) % 2 else (1, 1), threads=2), 1.0,
                      start=1.1)
    out, _ = replay(raised + calmer, (detect.oversubscription,))
    alert = [a for a in out[-1].alerts if a.kind == "oversubscription"][0]
    assert alert.active and alert.evidence["case"] == "threads_in_workers", alert.evidence
    assert alert.evidence["runnable_per_busy_worker"] < 1.5


def test_oversubscription_quiet_when_demand_fits():
    assert detect.oversubscription(timeline(lambda t: _procs(t, runnable=(1, 1)), 1.0)) is None
    sixteen = timeline(lambda t: _procs(t, runnable=(1,) * 16, usable=16, tree=1600.0), 1.0)
    assert detect.oversubscription(sixteen) is None
    sleeping = timeline(lambda t: _procs(t, runnable=(0, 0, 0, 1), tree=30.0), 1.0)  # I/O-bound workers
    assert detect.oversubscription(sleeping) is None


def _thread_pool(t, switches, n=4):
    rows = [worker(k, cpu=45.0, runnable=1, vol=int(t * switches)) for k in range(1, n + 1)]
    return snap(t, thread_config(n, "numpy"), workers=rows, cpu=cpu_view(usable=2, tree=180.0))


def test_oversubscription_in_a_thread_pool_counts_gil_releasing_threads_only():
    f = detect.oversubscription(timeline(lambda t: _thread_pool(t, switches=3), 1.0))
    assert f is not None and f.evidence["case"] == "workers"
    # the same run states, but every thread keeps sleeping for the GIL: not a CPU shortage
    assert detect.oversubscription(timeline(lambda t: _thread_pool(t, switches=170), 1.0)) is None


def test_oversubscription_without_proc_falls_back_to_saturated_cpus():
    blind = timeline(lambda t: _procs(t, runnable=(None,) * 4, tree=195.0), 1.0)
    assert detect.oversubscription(blind).evidence["source"] == "cpu"
    idle = timeline(lambda t: _procs(t, runnable=(None,) * 4, tree=40.0), 1.0)
    assert detect.oversubscription(idle) is None


# -- fork with threads ------------------------------------------------------------------------------

def _forked(t, method="fork", threads=("MainThread", "io-delay-server"), state="running", cpu=0.0,
            task_start=0.2, status="running", warnings=()):
    rows = [worker(n, state, process=True, task=n - 1, cpu=cpu, since_s=task_start, age=max(0.0, t - task_start))
            for n in (1, 2)]
    return snap(t, process_config(method=method), workers=rows, status=status, startup_s=0.1,
                threads_at_first_submit=threads, warnings=warnings)


def test_fork_with_threads_warns_with_the_thread_names():
    f = detect.fork_with_threads(timeline(_forked, 0.5))
    assert f.severity == "warning" and "io-delay-server" in f.message and f.since_t_s == 0.1
    assert f.evidence["other_threads"] == 1 and f.evidence["hung_workers"] == []
    assert "spawn" in f.remedy and "forkserver" in f.remedy
    assert "the runner had 1 other thread" in f.message
    program = [replace(s, source="program") for s in timeline(_forked, 0.5)]
    assert "the program had 1 other thread" in detect.fork_with_threads(program).message


def test_fork_with_threads_quiet_for_spawn_or_a_single_thread():
    assert detect.fork_with_threads(timeline(lambda t: _forked(t, method="spawn"), 0.5)) is None
    assert detect.fork_with_threads(timeline(lambda t: _forked(t, threads=("MainThread",)), 0.5)) is None
    own = ("MainThread", "execscope-gil-probe")
    assert detect.fork_with_threads(timeline(lambda t: _forked(t, threads=own), 0.5)) is None


def test_fork_with_threads_from_the_interpreter_warning():
    text = ("DeprecationWarning: This process (pid=42) is multi-threaded, use of fork() may lead to "
            "deadlocks in the child.")
    f = detect.fork_with_threads(timeline(lambda t: _forked(t, threads=("MainThread",), warnings=(text,)), 0.5))
    assert f is not None and f.evidence["python_warning"] == text and "multi-threaded" in f.message


def test_fork_with_threads_critical_when_a_worker_hangs_in_its_first_task():
    h = timeline(_forked, 3.0)
    f = detect.fork_with_threads(h)
    assert f.severity == "critical" and len(f.evidence["hung_workers"]) == 2
    assert f.evidence["hung_workers"][0]["seconds"] >= 2.0
    # still the verdict once the run is stopped for it
    stopped = h + [_forked(3.4, status="timeout")]
    assert detect.fork_with_threads(stopped).severity == "critical"
    # busy, not hung
    assert detect.fork_with_threads(timeline(lambda t: _forked(t, cpu=90.0), 3.0)).severity == "warning"


def test_fork_with_threads_critical_when_a_worker_never_starts():
    h = timeline(lambda t: _forked(t, state="starting"), 2.5)
    f = detect.fork_with_threads(h)
    assert f.severity == "critical" and f.evidence["hung_workers"][0]["how"] == "never finished starting"


# -- worker crash -------------------------------------------------------------------------------------

def _crashed(exits, times=None, broken=True, executor="process"):
    cfg = process_config() if executor == "process" else thread_config()
    times = times or tuple(0.5 for _ in exits)
    return [snap(0.6, cfg, status="failed", worker_exits=exits, worker_exit_t_s=times, pool_broken=broken,
                 counts=Counts(completed=3, failed=17))]


def test_worker_crash_names_the_cause_not_the_pool_collateral():
    f = detect.worker_crash(_crashed(((1001, -15), (1002, 13)), (0.52, 0.5)))
    assert f.severity == "critical" and f.evidence["pid"] == 1002 and f.evidence["exitcode"] == 13
    assert f.evidence["stopped_by_pool"] == [1001] and f.evidence["pool_broken"] is True
    assert f.evidence["tasks_failed"] == 17 and f.since_t_s == 0.5
    assert "exited with code 13" in f.message and "os._exit" in f.remedy


def test_worker_crash_by_signal():
    f = detect.worker_crash(_crashed(((1001, -9),)))
    assert f.evidence["signal"] == "SIGKILL" and "out-of-memory" in f.remedy
    f = detect.worker_crash(_crashed(((1001, -11),)))
    assert f.evidence["signal"] == "SIGSEGV" and "native code" in f.remedy


def test_worker_crash_from_a_broken_pool_before_the_exit_is_known():
    f = detect.worker_crash(_crashed((), broken=True))
    assert f.evidence["pid"] is None and f.evidence["pool_broken"] is True
    assert f.message.count("broken") == 1


def test_worker_crash_quiet_for_clean_exits_and_threads():
    assert detect.worker_crash(_crashed(((1001, 0), (1002, 0)), broken=False)) is None
    assert detect.worker_crash(_crashed((), broken=False, executor="thread")) is None


# -- start-up dominated -----------------------------------------------------------------------------------

def _started(run_s, startup=0.08, method="spawn", status="completed", expected=20, finished=20):
    cfg = process_config(method=method, tasks=expected)
    rows = [worker(n, "idle", process=True, startup_s=startup, done=finished // 2) for n in (1, 2)]
    return [snap(run_s + 0.05, cfg, workers=rows, status=status, run_elapsed_s=run_s, startup_s=0.05,
                 expected_tasks=expected, counts=Counts(completed=finished, submitted=expected))]


def test_startup_dominated_short_spawn_run():
    f = detect.startup_dominated(_started(0.2))
    assert f is not None and f.evidence["startup_share"] == pytest.approx(0.4)
    assert f.evidence["run_projected"] is False and "reuse one pool" in f.remedy and "forkserver" in f.remedy
    assert f.since_t_s == 0.05


def test_startup_dominated_quiet_for_long_runs_tiny_startups_and_failures():
    assert detect.startup_dominated(_started(2.0)) is None
    assert detect.startup_dominated(_started(0.05, startup=0.015, method="fork")) is None
    assert detect.startup_dominated(_started(0.2, status="failed")) is None


def test_startup_dominated_projects_a_running_run():
    # 4 of 20 done 0.07 s after start-up: ~0.28 s more to go, start-up ~19% of it
    running = _started(0.15, status="running", finished=4)
    assert detect.startup_dominated(running) is None
    # 18 of 20 done: nearly over, start-up 53% of the projected run
    f = detect.startup_dominated(_started(0.15, status="running", finished=18))
    assert f is not None and f.evidence["run_projected"] is True


# -- healthy runs raise nothing ---------------------------------------------------------------------------

def test_a_healthy_process_pool_history_raises_nothing():
    def build(t):
        done = int(t * 200)
        rows = [worker(n, process=True, done=done // 2, cpu=98.0, runnable=1, startup_s=0.015, threads=1)
                for n in (1, 2)]
        bd = breakdown(done, ser=1e-5, xfer=5e-5, deser=1e-5, compute=0.009, rser=1e-5, rxfer=2e-4,
                       rdeser=1e-5, bytes_out=62, bytes_in=17)
        return snap(t, process_config(tasks=400), workers=rows, bd=bd, counts=Counts(completed=done),
                    cpu=cpu_view(usable=2, tree=196.0, total=99.0, runnable=2), startup_s=0.05,
                    run_elapsed_s=t, threads_at_first_submit=("MainThread",))

    out, book = replay(timeline(build, 2.0))
    assert out[-1].alerts == ()
