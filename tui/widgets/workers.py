"""Workers: one row per worker thread or process.

    thread pool · max_workers 4 (default here 6) · 4 busy
    worker     state            for    CPU  done  GIL held  wait
    worker_0   ▶ task 457       13ms   24%   114  ██ 25%  ██████ 72%

When no GIL figures exist the panel says why (``Snapshot.gil.reason``)
instead of showing empty columns; while the workers' wait rests on few
samples, a line says how far chance alone may put it (95%).  A program's executors shown summed are
listed one group each (``#2 process/fork x2 at prog.py:32 · 2/2 busy``).
"""

from __future__ import annotations

from typing import List

from rich.text import Text

from execscope.protocol import ID_SPAN
from execscope.model import Snapshot, WorkerView
from execscope.sampling.gilstats import margin, margin_note

from ..fmt import WORKER_STATES, fmt_pct, fmt_s, hbar, natural_key, wrap
from ..sources import executor_kind_label, is_summed, kinds, short_label, where
from .lines_body import LinesBody
from .panel import Panel


def state_text(w: WorkerView, width: int = 99) -> str:
    """``▶ task 12``, ``‖ waits on #10``, ``⇡ pickle #3``, ``· idle``; the task
    number is dropped rather than cut when it does not fit ``width``."""
    text = _state_text(w)
    if len(text) > width and "#" in text:
        text = text[:text.rindex("#")].rstrip()
    return text[:width]


def task_number(task: int) -> int:
    """A task's number within its executor.  In a program, each executor's
    task ids start at a multiple of ``ID_SPAN`` (so that ids stay unique
    across executors): the screen shows the count within the executor.

    >>> task_number(17), task_number(3 * ID_SPAN + 42)
    (17, 42)
    """
    return task % ID_SPAN if task >= ID_SPAN else task


def _state_text(w: WorkerView) -> str:
    symbol, word, _ = WORKER_STATES.get(w.state, ("?", w.state, ""))
    task = task_number(w.task)
    if w.state == "blocked":
        return ("%s waits on #%d" % (symbol, task_number(w.blocked_on)) if w.blocked_on >= 0
                else "%s blocked" % symbol)
    if w.state in ("idle", "starting"):
        return "%s %s" % (symbol, word)
    if w.state == "running":
        if w.task < 0:  # attach mode: a worker seen running from its stack; the task is unknown
            return "%s running" % symbol
        if w.gil_wait is not None and w.gil_held is not None and w.gil_wait > max(0.5, w.gil_held):
            return "◐ task %d GIL" % task
        return "%s task %d" % (symbol, task)
    return "%s %s #%d" % (symbol, word, task) if w.task >= 0 else "%s %s" % (symbol, word)


def pool_line(snap: Snapshot, width: int = 80) -> str:
    """``thread pool · max_workers 4 (default here 6) · 4/4 busy``, shortened to fit."""
    cfg = snap.config
    n = len(snap.workers)
    busy = sum(1 for w in snap.workers if w.state not in ("idle", "starting"))
    if is_summed(snap):
        live = [ex for ex in snap.executors if ex.state != "retired"]
        head = "%d executor%s, %d live" % (len(snap.executors), "s" if len(snap.executors) != 1 else "",
                                           len(live))
        for text in ("%s · %d/%d workers busy" % (head, busy, n), "%d/%d busy" % (busy, n)):
            if len(text) <= width:
                return text
        return text[:width]
    if cfg.executor == "serial":
        return "serial baseline: one task after another"[:width]
    kind = ("%s pool" % cfg.executor if cfg.executor in ("thread", "interpreter")
            else "%s pool" % (cfg.start_method or "process"))
    size = "max_workers %s" % (snap.max_workers if snap.max_workers else "?")
    if cfg.workers is None and snap.max_workers:
        size += " (default)"
    elif snap.default_max_workers:
        size += " (default %d)" % snap.default_max_workers
    for text in ("%s · %s · %d/%d busy" % (kind, size, busy, n), "%s · %d/%d busy" % (size, busy, n)):
        if len(text) <= width:
            return text
    return text[:width]


def plan_columns(width: int, name_w: int, has_gil: bool, is_process: bool) -> List[str]:
    """Which optional columns fit, most useful first; state always shows.

    >>> plan_columns(44, 8, True, False)
    ['age', 'cpu', 'gil']
    >>> plan_columns(120, 8, True, True)
    ['age', 'cpu', 'done', 'startup', 'gilbars']
    """
    used = name_w + 1 + STATE_W
    chosen = []
    wanted = (["gil"] if has_gil else []) + ["cpu", "age", "done"] + \
        (["gilbars"] if has_gil else []) + (["startup"] if is_process else [])
    for col in wanted:
        extra = COLUMN_W[col] - (COLUMN_W["gil"] if col == "gilbars" else 0)
        if used + extra <= width:
            chosen.append(col)
            used += extra
    if "gilbars" in chosen:
        chosen.remove("gil")
    return [c for c in DISPLAY_ORDER if c in chosen]


STATE_W = 15
DISPLAY_ORDER = ("age", "cpu", "done", "startup", "gil", "gilbars")
COLUMN_W = {"age": 6, "cpu": 5, "done": 6, "startup": 9, "gil": 9, "gilbars": 26}
HEADS = {"age": "%6s" % "for", "cpu": "%5s" % "CPU", "done": "%6s" % "done",
         "startup": "%9s" % "start-up", "gil": "%9s" % "GIL h/w", "gilbars": "  GIL held      wait      "}


class WorkersPanel(Panel):
    PANEL = "workers"
    TITLE = "Workers"

    COVERS = ("workers", "gil")
    MANY = 32  # workers: past this, the table is redrawn twice a second, not at every snapshot
    MANY_EVERY_S = 0.5

    def make_body(self) -> LinesBody:
        return LinesBody(classes="panel-body")  # one row per worker: most are out of view

    def redraw_every_s(self) -> float:
        snap = self.snap
        return self.MANY_EVERY_S if snap is not None and len(snap.workers) > self.MANY else 0.0

    def render_body(self, width: int) -> Text:
        snap = self.snap
        if snap is None:
            return Text("no run yet", style="dim")
        text = Text()
        for name, why in self.unavailable():
            if name == "workers":  # the stacks could not be read: say so before anything else
                text.append("⚠ worker states: ", style="bold yellow")
                wrap(text, why, width, style="yellow", first=17, indent="  ")
        text.append(pool_line(snap, width) + "\n", style="dim")
        workers = sorted(snap.workers, key=lambda w: natural_key(w.label))
        if not workers:
            wrap(text, _no_workers(snap), width, style="dim")
            text.rstrip()
            return text
        has_gil = any(w.gil_held is not None for w in workers)
        name_w = min(12, max(6, max(len(w.label) for w in workers)))
        counted = not any(name == "tasks" for name, _ in snap.unavailable)
        cols = plan_columns(width, name_w, has_gil, "process" in kinds(snap))
        if not counted and "done" in cols:
            cols.remove("done")  # attach mode counts no tasks
        head = "%-*s %-*s" % (name_w, "worker", STATE_W, "state") + "".join(HEADS[c] for c in cols)
        if len(workers) > 1:
            head = head.rstrip()
        text.append(head.rstrip()[:width] + "\n", style="bold")
        groups = _groups(snap, workers)
        for number, ex, members in groups:
            if len(groups) > 1:
                text.append(_group_line(number, ex, members, width) + "\n", style="bold dim")
            for w in members:
                self._row(text, w, name_w, cols)
        if not has_gil:
            wrap(text, gil_note(snap), width, style="dim italic")
        else:
            note = margin_line(snap, workers)
            if note:
                wrap(text, note, width, style="dim italic")
        text.rstrip()
        return text

    @staticmethod
    def _row(text: Text, w: WorkerView, name_w: int, cols: List[str]) -> None:
        _, _, style = WORKER_STATES.get(w.state, ("", "", ""))
        text.append("%-*s " % (name_w, short_label(w.label, name_w)))
        text.append("%-*s" % (STATE_W, state_text(w, STATE_W - 1)), style=style)
        for col in cols:
            if col == "age":
                text.append("%6s" % (fmt_s(w.state_age_s) if w.state != "idle" else ""), style="dim")
            elif col == "cpu":
                text.append("%5s" % (fmt_pct(w.cpu_percent).strip() if w.cpu_percent is not None else "-"))
            elif col == "done":
                text.append("%6d" % w.done)
            elif col == "startup":
                text.append("%9s" % (fmt_s(w.startup_s) if w.startup_s is not None else "-"), style="dim")
            elif col == "gil":
                if w.gil_held is None:
                    text.append("%9s" % "-")
                else:
                    text.append("%9s" % ("%d/%d%%" % (round(w.gil_held * 100), round((w.gil_wait or 0) * 100))),
                                style="red" if (w.gil_wait or 0) > 0.5 else "")
            elif col == "gilbars":
                text.append("  ")
                if w.gil_held is None:
                    text.append(" " * 24)
                    continue
                text.append(hbar(w.gil_held, 1.0, 6), style="green")
                text.append("%4s" % fmt_pct(w.gil_held * 100).strip())
                text.append("  ")
                text.append(hbar(w.gil_wait or 0.0, 1.0, 6), style="red")
                text.append("%4s" % fmt_pct((w.gil_wait or 0.0) * 100).strip())
        text.append("\n")


def margin_line(snap: Snapshot, workers: List[WorkerView]) -> str:
    """``GIL wait ±0.14 per thread (95%, from 37 samples): ...`` while the
    workers' wait figures rest on too few samples to be told apart closely."""
    tids = {w.tid for w in workers if w.kind == "thread"}
    pids = {w.pid for w in workers if w.kind == "process"}
    mine = [t for t in snap.gil.threads if t.tid in tids or (t.pid in pids and t.tid == t.pid)]
    widest = margin(mine)
    if widest is None or widest < WIDE_MARGIN:
        return ""
    return "GIL %s: chance alone, it narrows as the run goes on" % margin_note(mine)


WIDE_MARGIN = 0.05


def gil_note(snap: Snapshot) -> str:
    gil = snap.gil
    if gil.source == "disabled":
        return "GIL: disabled — %s" % gil.reason
    if gil.source == "probe":
        lat = gil.probe_latency_ms
        return "GIL: latency probe only%s — %s" % (
            (" (wake-ups %.2f ms late)" % lat) if lat is not None else "", gil.reason or "")
    if gil.source == "py-spy":
        # py-spy did sample, just not these workers' threads (e.g. processes it could not follow)
        return "GIL held/wait: py-spy sampled, but none of its samples is from these workers (%s)" % gil.reason
    return "GIL held/wait: not measured — %s" % (gil.reason or "no sampler")


def _no_workers(snap: Snapshot) -> str:
    if is_summed(snap) and not snap.executors:
        return ("no executor yet" if snap.source == "program"
                else "no concurrent.futures worker seen in the stacks yet")
    if is_summed(snap):
        return "no live executor: the ones it made have shut down (e: see each)"
    if snap.executors and snap.executors[0].state == "retired":
        return "this executor has shut down: its workers are gone (its totals stay in the other panels)"
    return "no worker has started yet"


def _groups(snap: Snapshot, workers: List[WorkerView]):
    """[(number, executor, its workers)]: one group per live executor when the
    panel shows several summed, else one group of every worker."""
    if not is_summed(snap) or len(snap.executors) < 2:
        return [(0, None, workers)]
    keys = {}
    for number, ex in enumerate(snap.executors, 1):
        for w in ex.workers:
            keys[w.key] = number
    groups, rest = {}, []
    for w in workers:
        if w.key in keys:
            groups.setdefault(keys[w.key], []).append(w)
        else:
            rest.append(w)
    out = [(number, snap.executors[number - 1], members) for number, members in sorted(groups.items())]
    if rest:
        out.append((0, None, rest))
    return out


def _group_line(number: int, ex, members: List[WorkerView], width: int) -> str:
    """``#2 process/fork x2 at prog.py:32 · 2/2 busy``."""
    if ex is None:
        return "other workers"[:width]
    busy = sum(1 for w in members if w.state not in ("idle", "starting"))
    head = "#%d %s" % (number, executor_kind_label(ex))
    for text in ("%s %s · %d/%d busy" % (head, where(ex, short=True), busy, len(members)),
                 "%s · %d/%d busy" % (head, busy, len(members))):
        if len(text) <= width:
            return text
    return text[:width]
