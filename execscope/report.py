"""Reports: the run JSON (``execscope.run/1``) of a RunRecord, progress lines
and the end-of-run summary table of a Snapshot.  Pure functions, plus an
atomic file writer.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import IO, Any, Callable, Collection, Dict, List, Optional, Set

from .fmt import fmt_bytes, fmt_num, fmt_s
from .model import Alert, Breakdown, ExecutorView, RunRecord, Snapshot

SCHEMA_RUN = "execscope.run/1"


def _r(value: Optional[float], digits: int = 9) -> Optional[float]:
    return None if value is None else round(float(value), digits)


def alert_json(alert: Alert) -> Dict[str, Any]:
    return {
        "kind": alert.kind,
        "t_s": _r(alert.t_s, 3),
        "severity": alert.severity,
        "message": alert.message,
        "remedy": alert.remedy,
        "evidence": dict(alert.evidence),
        "active": alert.active,
        "cleared_t_s": _r(alert.cleared_t_s, 3),
        "panel": alert.panel,
    }


def run_json(record: RunRecord) -> Dict[str, Any]:
    """The run object of the contract, from a finished (or stopped) run's record."""
    snap = record.snapshot
    cfg = snap.config
    b = snap.breakdown
    probed = record.interpreter
    interp = dict(snap.interpreter) or {
        "executable": probed.get("path"),
        "version": ".".join(map(str, probed.get("version", []))),
        "gil_enabled": probed.get("gil_enabled"),
        "switch_interval_s": probed.get("switch_interval_s"),
    }
    machine = dict(snap.machine)
    wall = snap.run_elapsed_s
    workers = [
        {
            "key": w.key,
            "label": w.label,
            "kind": w.kind,
            "pid": w.pid,
            "tid": w.tid,
            "tasks_done": w.done,
            "busy_s": _r(w.busy_s),
            "startup_s": _r(w.startup_s),
            "cpu_percent": _r(w.cpu_percent, 1),
            "gil_held": _r(w.gil_held, 3),
            "gil_wait": _r(w.gil_wait, 3),
        }
        for w in snap.workers
    ]
    startups = [w.startup_s for w in snap.workers if w.startup_s is not None]
    marks = [dict(m, t_s=_r(m["t_s"], 4)) for m in record.marks]
    warnings = [dict(w, t_s=_r(w["t_s"], 3)) for w in record.warnings]
    errors = [dict(e) for e in record.errors]
    exits = [dict(e, t_s=_r(e["t_s"], 3)) for e in record.exits]
    fork_threads = record.threads_at_first_submit
    gil = snap.gil
    return {
        "schema": SCHEMA_RUN,
        "workload": dict({"name": cfg.workload, "params": dict(cfg.params), "summary": snap.workload_summary},
                         **({"argv": list(cfg.argv)} if cfg.argv else {})),
        "executor": {
            "kind": cfg.executor,
            "start_method": cfg.start_method if cfg.executor == "process" else None,
            "max_workers": snap.max_workers,
            "default_max_workers": snap.default_max_workers,
            "requested_workers": cfg.workers,
        },
        "interpreter": {
            "executable": interp.get("executable"),
            "version": interp.get("version"),
            "gil_enabled": interp.get("gil_enabled"),
            "free_threaded_build": interp.get("free_threaded_build", False),
            "switch_interval_s": interp.get("switch_interval_s"),
        },
        "machine": {
            "logical_cpus": machine.get("logical_cpus"),
            "usable_cpus": machine.get("usable_cpus"),
            "affinity_cpus": machine.get("affinity_cpus"),
            "cgroup_cpu_limit": machine.get("cgroup_cpu_limit"),
            "interpreter_cpu_count": machine.get("interpreter_cpu_count"),
        },
        "status": snap.status,
        "reason": snap.reason,
        "wall_s": _r(wall),
        "startup_s": _r(snap.startup_s),
        "tasks": {
            "requested": cfg.tasks,
            "submitted": snap.counts.submitted,
            "completed": snap.counts.completed,
            "failed": snap.counts.failed,
            "throughput_per_s": _r(snap.mean_throughput_per_s, 3),
            "latency_s": _latency_json(snap.latency_s),
            "first_error": snap.first_error or None,
        },
        "breakdown_s": _breakdown_json(b, _missing(snap)),
        "ipc": _ipc_json(snap.ipc_bytes_sent, snap.ipc_bytes_received, b),
        "gil": {
            "source": gil.source,
            "reason": gil.reason,
            "window_s": gil.window_s,
            "probe_latency_ms": _r(gil.probe_latency_ms, 3),
            "probe_contention": _r(gil.probe_contention, 3),
            "threads": [
                {"name": t.name, "pid": t.pid, "tid": t.tid, "held": _r(t.held, 3), "wait": _r(t.wait, 3),
                 "released": _r(t.released, 3), "idle": _r(t.idle, 3), "samples": t.samples,
                 "wait_95": [_r(x, 3) for x in t.wait_range] if t.wait_range is not None else None}
                for t in gil.threads
            ],
        },
        "cpu": {
            "per_core_mean_percent": list(record.cpu_means),
            "process_tree_mean_percent": _r(record.tree_cpu_mean, 1),
            "peak_rss_bytes": record.peak_rss_bytes,
            "peak_uss_bytes": record.peak_uss_bytes,
        },
        "workers": workers,
        "worker_startup_s": {"mean": _r(sum(startups) / len(startups)) if startups else None,
                             "max": _r(max(startups)) if startups else None},
        "first_task_start_s": _r(snap.first_task_start_s),
        "runner_threads_at_first_submit": list(fork_threads) if fork_threads is not None else None,
        "alerts": [alert_json(a) for a in reversed(snap.alerts)],
        "marks": marks,
        "warnings": warnings,
        "errors": errors,
        "worker_exits": exits,
        "output": {"bytes": record.output_bytes, "tail": list(record.output_tail[-20:])},
        "timeline": [dict(p) for p in record.timeline],
        "source": snap.source,
        "executors": executors_json(snap),
        "program": program_json(snap),
        "unavailable": [{"panel": panel, "reason": reason} for panel, reason in snap.unavailable],
        "observer": dict(snap.observer) or None,
    }


def _latency_json(latency: tuple) -> Dict[str, Optional[float]]:
    return {"p50": _r(latency[0]), "p95": _r(latency[1]), "p99": _r(latency[2])}


def _missing(snap: Snapshot) -> Set[str]:
    """Names the run says it cannot measure (Snapshot.unavailable)."""
    return {name for name, _ in snap.unavailable}


def _breakdown_json(b: Breakdown, missing: Collection[str] = ()) -> Dict[str, Optional[float]]:
    """Mean seconds per task by phase; None for a phase that was not measured."""
    out = {
        "queue_wait": _r(b.queue),
        "serialize": _r(b.ser),
        "transfer": _r(b.xfer),
        "deserialize": _r(b.deser),
        "compute": _r(b.compute),
        "result_serialize": _r(b.rser),
        "result_transfer": _r(b.rxfer),
        "result_deserialize": _r(b.rdeser),
    }
    return {name: None if name in missing else value for name, value in out.items()}


def _ipc_json(sent: int, received: int, b: Breakdown) -> Dict[str, Any]:
    return {"bytes_sent": sent, "bytes_received": received, "share_of_task_time": _r(b.ipc_share, 4)}


def executors_json(snap: Snapshot) -> List[Dict[str, Any]]:
    """One object per executor: a program's (each named by where it was
    created), or the built-in run's single one (created by the runner)."""
    views = list(snap.executors)
    if not views and snap.source == "runner":
        cfg = snap.config
        views = [ExecutorView(id="runner", created_at="execscope runner", kind=cfg.executor,
                              pid=0, start_method=cfg.start_method if cfg.executor == "process" else None,
                              max_workers=snap.max_workers, counts=snap.counts,
                              mean_throughput_per_s=snap.mean_throughput_per_s, run_elapsed_s=snap.run_elapsed_s,
                              latency_s=snap.latency_s, breakdown=snap.breakdown, ipc_bytes_sent=snap.ipc_bytes_sent,
                              ipc_bytes_received=snap.ipc_bytes_received, mode=snap.mode, chunksize=snap.chunksize,
                              alerts=snap.alerts)]
    return [
        {
            "id": ex.id,
            "created_at": ex.created_at,
            "function": ex.function or None,
            "via": ex.via,
            "pid": ex.pid or None,
            "kind": ex.kind,
            "start_method": ex.start_method,
            "max_workers": ex.max_workers,
            "state": ex.state,
            "instances": ex.instances,
            "created_t_s": _r(ex.created_t_s, 3),
            "wall_s": _r(ex.run_elapsed_s),
            "mode": ex.mode,
            "chunksize": ex.chunksize,
            "tasks": {
                "submitted": ex.counts.submitted,
                "completed": ex.counts.completed,
                "failed": ex.counts.failed,
                "throughput_per_s": _r(ex.mean_throughput_per_s, 3),
                "latency_s": _latency_json(ex.latency_s),
            },
            "breakdown_s": _breakdown_json(ex.breakdown, _missing(snap)),
            "ipc": _ipc_json(ex.ipc_bytes_sent, ex.ipc_bytes_received, ex.breakdown),
            "bound": ex.bound,
            "cpu_per_running_worker": _r(ex.cpu_per_running_worker, 3),
            "gil_wait_per_running_worker": _r(ex.gil_wait_per_running_worker, 3),
            "worker_exits": [{"pid": pid, "exitcode": code} for pid, code in ex.worker_exits],
            "alerts": [alert_json(a) for a in reversed(ex.alerts)],
        }
        for ex in views
    ]


def program_json(snap: Snapshot) -> Optional[Dict[str, Any]]:
    p = snap.program
    if p is None:
        return None
    return {"argv": list(p.argv), "pid": p.pid, "exit_code": p.exit_code, "instrumented": p.instrumented,
            "processes_reporting": p.processes, "exited": p.exited or p.exit_code is not None, "mode": p.mode}


def write_json_atomic(path: str, obj: Any) -> None:
    """Write to a temporary file beside ``path`` and rename: never half-written."""

    def write(fh: IO[str]) -> None:
        json.dump(obj, fh, indent=2, default=str)  # streamed: a run's JSON can be large
        fh.write("\n")

    _write_atomic(path, write)


def write_text_atomic(path: str, text: str) -> None:
    """``text`` to ``path``, never half-written (see write_json_atomic)."""
    _write_atomic(path, lambda fh: fh.write(text))


def _write_atomic(path: str, write: Callable[[IO[str]], Any]) -> None:
    directory = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=".execscope-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as fh:
            write(fh)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def stacks_only(snap: Snapshot) -> bool:
    """An attached process read from outside (no agent in it): no task counts."""
    return snap.source == "attach" and not (snap.program is not None and snap.program.instrumented)


def progress_line(snap: Snapshot) -> str:
    """One line per second in headless mode."""
    c = snap.counts
    total = snap.expected_tasks
    done = "%d/%d" % (c.finished, total) if total else "%d" % c.finished
    gil = ""
    held = [w.gil_wait for w in snap.workers if w.gil_wait is not None]
    if held:
        gil = "  gil-wait %.0f%%" % (100 * sum(held) / len(held))
    alerts = "".join("  !%s" % a.kind for a in snap.active_alerts)
    if stacks_only(snap):  # no task counts from outside: the workers' states instead
        states = [w.state for w in snap.workers]
        return ("[%6.1fs] %-9s pid %s  workers %d: %d running %d blocked %d idle  cpu %3.0f%%%s%s"
                % (snap.t_s, snap.status, snap.config.attach_pid, len(states), states.count("running"),
                   states.count("blocked"), states.count("idle"), snap.cpu.tree_percent, gil, alerts))
    return (
        "[%6.1fs] %-9s %s %-18s done %-11s queue %-5d run %-3d %7.1f/s  p95 %-8s cpu %3.0f%%%s%s"
        % (snap.t_s, snap.status, snap.config.workload, snap.config.label, done, c.queued, c.running,
           snap.throughput_per_s, fmt_s(snap.latency_s[1]), snap.cpu.tree_percent, gil, alerts)
    )


def executor_label(ex: ExecutorView) -> str:
    """``thread x4``, ``process/fork x2``."""
    text = ex.kind + ("/" + ex.start_method if ex.start_method else "")
    return text + (" x%d" % ex.max_workers if ex.max_workers else "")


def _executor_rows(snap: Snapshot) -> List[tuple]:
    rows = []
    for i, ex in enumerate(snap.executors, 1):
        c, b = ex.counts, ex.breakdown
        where = ex.created_at + (" (via %s)" % ex.via if ex.via else "")
        if stacks_only(snap):
            states = [w.state for w in ex.workers]
            if ex.state == "retired":  # gone from the stacks (the process ended, or the pool)
                text = "%s, %d workers when last seen, gone since" % (where, ex.max_workers or 0)
            else:
                text = "%s, %s: %s" % (where, "%d workers" % len(states), ", ".join(
                    "%d %s" % (states.count(s), s) for s in ("running", "blocked", "idle") if s in states))
        else:
            text = "%s at %s: %d completed, %d failed of %d; queue %s, compute %s%s" % (
                executor_label(ex), where, c.completed, c.failed, c.submitted, fmt_s(b.queue), fmt_s(b.compute),
                ", ipc %.0f%%" % (100 * b.ipc_share) if ex.kind == "process" else "")
        rows.append(("executor %d" % i, text + ("; %s" % ex.bound if ex.bound else "")))
    p = snap.program
    if p is not None:
        if p.exit_code is not None:
            code = "exit code %d" % p.exit_code if p.exit_code >= 0 else "killed by signal %d" % -p.exit_code
        else:
            code = "exited (its exit code goes to its parent)" if p.exited else "running"
        rows.append(("program", "pid %d, %s%s" % (p.pid, code, "; " + p.mode if p.mode else "")))
    return rows + _unavailable_rows(snap)


def _unavailable_rows(snap: Snapshot) -> List[tuple]:
    """One row per reason, naming every part it applies to."""
    by_reason: Dict[str, List[str]] = {}
    for name, why in snap.unavailable:
        by_reason.setdefault(why, []).append(name)
    return [("unavailable", "%s: %s" % (", ".join(names), why)) for why, names in by_reason.items()]


def summary_table(snap: Snapshot) -> str:
    """The end-of-run summary, plain text."""
    c = snap.counts
    b = snap.breakdown
    missing = _missing(snap)
    interp = snap.interpreter
    rows: List[tuple] = [
        ("workload", "%s  %s" % (snap.config.workload, " ".join("%s=%s" % kv for kv in snap.config.params.items()))),
        ("executor", "%s (max_workers %s, default here %s)" % (snap.config.label, snap.max_workers,
                                                               snap.default_max_workers)),
        ("interpreter", "%s %s, GIL %s, switch interval %s" % (
            interp.get("executable", "?"), interp.get("version", "?"),
            "on" if interp.get("gil_enabled", True) else "off", fmt_s(interp.get("switch_interval_s")))),
        ("cpus", "%s logical, %s usable%s" % (snap.cpu.logical_cpus, snap.cpu.usable_cpus,
                                              "" if snap.cpu.cgroup_cpu_limit is None
                                              else ", cgroup quota %.2f" % snap.cpu.cgroup_cpu_limit)),
        ("status", snap.status + (" (%s)" % snap.reason if snap.reason else "")),
        ("tasks", "%d completed, %d failed of %d submitted" % (c.completed, c.failed, c.submitted)),
        ("wall", "%s  (%s tasks/s)" % (fmt_s(snap.run_elapsed_s), fmt_num(snap.mean_throughput_per_s))),
        ("latency", "p50 %s  p95 %s  p99 %s" % tuple(fmt_s(x) for x in snap.latency_s)),
        ("per task", "queue %s | ser %s xfer %s deser %s | compute %s | rser %s rxfer %s rdeser %s" % tuple(
            "n/a" if name in missing else fmt_s(x) for name, x in zip(
                ("queue_wait", "serialize", "transfer", "deserialize", "compute", "result_serialize",
                 "result_transfer", "result_deserialize"),
                (b.queue, b.ser, b.xfer, b.deser, b.compute, b.rser, b.rxfer, b.rdeser)))),
        ("ipc", "%s sent, %s received, %.0f%% of task time" % (
            fmt_bytes(snap.ipc_bytes_sent), fmt_bytes(snap.ipc_bytes_received), 100 * b.ipc_share)),
        ("gil", snap.gil.source + (" (%s)" % snap.gil.reason if snap.gil.reason else "")),
    ]
    if snap.source != "runner":
        rows[1] = ("executors", ("%d %s" % (len(snap.executors), "created" if snap.source == "program" else "seen"))
                   if snap.executors else "none seen")
        hidden = {"tasks": ("tasks", "wall", "latency"), "breakdown": ("per task",), "ipc": ("ipc",)}
        gone = {row for panel, _ in snap.unavailable for row in hidden.get(panel, ())}
        rows = [row for row in rows if row[0] not in gone]
        rows.extend(_executor_rows(snap))
    else:
        rows = [row for row in rows if not (row[0] == "ipc" and "ipc" in missing)]
        rows.extend(_unavailable_rows(snap))
    if snap.first_error:
        rows.append(("first error", snap.first_error))
    for alert in snap.alerts:
        rows.append(("alert", "%s at %.1fs: %s" % (alert.kind, alert.t_s, alert.message)))
    width = max(len(k) for k, _ in rows)
    return "\n".join("%s  %s" % (k.rjust(width), v) for k, v in rows)
