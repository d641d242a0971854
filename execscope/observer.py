"""What watching a run costs it: the ``observer`` block of a run (pure functions).

Three figures, each measured by execscope itself while the run goes on:

- **instrumentation**: the tracker times its own work around one task in
  ``every`` (``runner/instrument.Tracker.own_cost``): seconds per submit and
  per finished task, in the process that submits.  Its ``share`` is that time
  over what a task costs once a worker has it (compute and IPC): the part of a
  task the instrumentation adds.
- **samplers**: CPU seconds of py-spy (the GIL sampler's processes) and of
  execscope's own ticker thread (psutil, /proc, snapshots, detectors), as a
  share of the machine's usable CPUs over the run: what they took from it.
- **rates**: how often each of them looks.
- **phases**: thread and process pools time a sample of their calls phase by phase
  (``instrument.TIMED_EVERY``): how many calls were timed of how many; the
  breakdown's means are that sample's, its counts are every call's.

``share`` is the larger of the two shares; the run header shows it above
``SHOW_ABOVE``.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional

SHOW_ABOVE = 0.03


def observer_figures(own_cost: Optional[Mapping[str, Any]], service_s: float, pyspy_cpu_s: Optional[float],
                     ticker_cpu_s: float, elapsed_s: float, usable_cpus: int,
                     rates: Mapping[str, Any]) -> Dict[str, Any]:
    """The observer block.

    >>> fig = observer_figures({"every": 16, "timed": 10, "submit_s": 2e-6, "finish_s": 3e-6,
    ...                         "per_task_s": 5e-6}, 250e-6, 0.2, 0.1, 10.0, 2, {"refresh_hz": 10})
    >>> fig["instrumentation"]["share"], fig["samplers"]["cpu_share"], fig["share"]
    (0.02, 0.015, 0.02)
    >>> observer_figures(None, 0.0, None, 0.0, 0.0, 2, {})["instrumentation"]["share"] is None
    True
    >>> fig = observer_figures({"timed": 10, "per_task_s": 5e-6, "phases_timed": 130, "calls": 2000}, 1e-3, None,
    ...                        0.0, 1.0, 2, {})
    >>> fig["instrumentation"]["phases_timed"], fig["instrumentation"]["calls"]
    (130, 2000)
    """
    per_task = own_cost.get("per_task_s") if own_cost else None
    instrumentation: Dict[str, Any] = {
        "per_task_s": per_task,
        "submit_s": own_cost.get("submit_s") if own_cost else None,
        "finish_s": own_cost.get("finish_s") if own_cost else None,
        "timed_tasks": own_cost.get("timed", 0) if own_cost else 0,
        "timed_every": own_cost.get("every") if own_cost else None,
        "share": round(per_task / service_s, 4) if per_task is not None and service_s > 0 else None,
    }
    if own_cost and own_cost.get("calls"):
        instrumentation["phases_timed"] = int(own_cost.get("phases_timed") or 0)
        instrumentation["calls"] = int(own_cost["calls"])
    if not own_cost:
        instrumentation["reason"] = "this source does not time its instrumentation"
    elif per_task is None:
        instrumentation["reason"] = "no task was timed yet"
    cpu_s = ticker_cpu_s + (pyspy_cpu_s or 0.0)
    machine_s = elapsed_s * max(1, usable_cpus)
    samplers = {
        "pyspy_cpu_s": None if pyspy_cpu_s is None else round(pyspy_cpu_s, 3),
        "ticker_cpu_s": round(ticker_cpu_s, 3),
        "cpu_share": round(cpu_s / machine_s, 4) if machine_s > 0 else None,
    }
    shares = [s for s in (instrumentation["share"], samplers["cpu_share"]) if s is not None]
    return {"instrumentation": instrumentation, "samplers": samplers, "rates": dict(rates),
            "share": max(shares) if shares else None}


def merge_own_costs(costs: Iterable[Optional[Mapping[str, Any]]]) -> Dict[str, Any]:
    """One ``own_cost`` from several trackers' (a program's executors): each
    mean weighed by how many tasks its timed ones stand for (timed x every:
    a thread pool times one task in 64, a process pool one in 16; none
    timed: the means are None).  ``every`` is the densest of them.

    >>> merged = merge_own_costs([
    ...     {"every": 16, "timed": 1, "submit_timed": 1, "submit_s": 4e-6, "finish_s": 2e-6},
    ...     {"every": 16, "timed": 3, "submit_timed": 3, "submit_s": 8e-6, "finish_s": 6e-6}, None])
    >>> merged["timed"], merged["submit_s"], merged["finish_s"], round(merged["per_task_s"], 9)
    (4, 7e-06, 5e-06, 1.2e-05)
    >>> mixed = merge_own_costs([{"every": 64, "timed": 1, "finish_s": 1e-6},
    ...                          {"every": 16, "timed": 2, "finish_s": 4e-6}])
    >>> mixed["every"], mixed["finish_s"]
    (16, 2e-06)
    >>> merge_own_costs([None, {}])["per_task_s"] is None
    True
    >>> sampled = merge_own_costs([{"timed": 1, "phases_timed": 70, "calls": 1000}, {"timed": 1, "phases_timed": 30,
    ...                                                                            "calls": 200}])
    >>> sampled["phases_timed"], sampled["calls"]
    (100, 1200)
    """
    costs = [c for c in costs if c]

    def mean(field: str, weight: str) -> Optional[float]:
        pairs = [(c[field], int(c.get(weight) or 0) * int(c.get("every") or 1)) for c in costs
                 if c.get(field) is not None]
        n = sum(w for _, w in pairs)
        return sum(v * w for v, w in pairs) / n if n else None

    submit, finish = mean("submit_s", "submit_timed"), mean("finish_s", "timed")
    per_task = (submit or 0.0) + (finish or 0.0) if submit is not None or finish is not None else None
    everies = [int(c["every"]) for c in costs if c.get("every")]
    out = {"every": min(everies) if everies else None, "timed": sum(int(c.get("timed") or 0) for c in costs),
           "submit_timed": sum(int(c.get("submit_timed") or 0) for c in costs),
           "submit_s": submit, "finish_s": finish, "per_task_s": per_task}
    sampled = [c for c in costs if c.get("calls") is not None]
    if sampled:  # process pools: calls timed phase by phase, of all
        out["phases_timed"] = sum(int(c.get("phases_timed") or 0) for c in sampled)
        out["calls"] = sum(int(c["calls"]) for c in sampled)
    return out


def observer_note(figures: Optional[Mapping[str, Any]]) -> str:
    """``observer 4%`` when watching costs the run more than SHOW_ABOVE, else "".

    >>> observer_note({"share": 0.041})
    'observer 4%'
    >>> observer_note({"share": 0.01}), observer_note(None)
    ('', '')
    """
    share = (figures or {}).get("share")
    if share is None or share <= SHOW_ABOVE:
        return ""
    return "observer %.0f%%" % (share * 100)
