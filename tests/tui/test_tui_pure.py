"""The TUI's pure parts: core grid, formatting, tour data, compare model, runs."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from execscope import compare
from execscope.tour import CLAIMS
from execscope.model import RunConfig
from execscope.tui import comparison, fmt
from tui_fake import FakeFactory, FakeSession, script
from execscope.tui.grid import plan_grid
from execscope.tui.runs import LiveRun, Registry
from execscope.tui.tour_steps import tour_steps
from execscope.tui.widgets.breakdown import split_widths
from execscope.tui.widgets.workers import plan_columns, state_text


@pytest.mark.parametrize("cores", [1, 2, 3, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512])
@pytest.mark.parametrize("width,rows", [(76, 4), (156, 8), (40, 2)])
def test_grid_shows_every_core_within_the_width(cores, width, rows):
    g = plan_grid(cores, width, rows)
    assert g.cols * g.rows >= cores  # never drops a core
    if g.mode == "block":
        used = g.label_width + 1 + g.per_row + (g.per_row // 8 - 1)
    else:
        used = g.cols * g.cell_width + (g.cols - 1)
    assert used <= width
    if cores <= 256 and width >= 76:
        assert g.rows <= rows  # fits the rows it was given up to 256 cores in 80 columns


def test_grid_shrinks_cells_as_cores_grow():
    modes = [plan_grid(n, 76, 4).mode for n in (2, 16, 32, 128, 256)]
    assert modes == ["graph", "graph", "percent", "block", "block"]


def test_level_glyphs_carry_meaning_without_colour():
    glyphs = [fmt.level_glyph(p) for p in (0, 10, 30, 50, 70, 85, 100)]
    assert glyphs[0] == "·" and glyphs[-1] == "█"
    assert len(set(glyphs)) == len(glyphs)
    assert fmt.hbar(100, 100, 5) == "█████" and fmt.hbar(0, 100, 3) == "   "


def test_status_and_worker_state_have_symbols():
    for status in ("starting", "running", "completed", "failed", "timeout", "deadlock", "interrupted"):
        assert fmt.status_text(status).split()[0] not in ("", "?")
    snap = script(RunConfig("recursive_submit", "thread", workers=2))[-1]
    assert state_text(snap.workers[0]).startswith("‖ waits on #")


def test_breakdown_segments_fill_the_bar_and_keep_small_phases_visible():
    cells = split_widths([0.34, 0.021, 0.013, 0.027, 0.00015, 0.021], 30)
    assert sum(cells) == 30 and all(c >= 1 for c in cells)
    assert split_widths([0, 0], 10) == [0, 0]


def test_worker_columns_fit_and_keep_state():
    for width in (30, 44, 60, 90, 150):
        cols = plan_columns(width, 9, True, True)
        from execscope.tui.widgets.workers import COLUMN_W, STATE_W
        assert 9 + 1 + STATE_W + sum(COLUMN_W[c] for c in cols) <= max(width, 9 + 1 + STATE_W)


def test_tour_steps_are_the_tours_claim_steps():
    from execscope import tour
    from execscope.validate import validate
    from execscope.workloads import catalog

    names = catalog()
    claim_steps = [s for s in tour.steps() if not s.blocked]
    steps = tour_steps()
    assert [s.claims for s in steps] == [(c.claim,) for c in claim_steps]
    for step, claim in zip(steps, claim_steps):
        assert step.title == claim.text == CLAIMS[claim.claim] and step.watch == claim.watch
        assert step.config == claim.config(claim.focus)
        assert step.config.workload in names
        assert step.watch.endswith(".")
        validate(step.config)  # raises UsageError on a bad step
    covered = {c for s in steps for c in s.claims}
    assert {"C1", "C2", "C3", "C5", "C6", "C8", "C9", "C10", "C11", "C12", "C13"} <= covered


def test_a_broken_tour_is_an_error_not_another_list(monkeypatch):
    from execscope import tour

    def broken(**kw):
        raise RuntimeError("tour.steps is broken")

    monkeypatch.setattr(tour, "steps", broken)
    with pytest.raises(RuntimeError, match="broken"):
        tour_steps()


def test_compare_rows_are_the_plan_of_execscope_compare():
    rows = comparison.compare_configs(RunConfig("cpu", tasks=10, workers=2))
    planned = compare.plan(compare.CompareRequest("cpu", tasks=10, workers=(2,)))
    assert [r.label for r in rows] == [c.label for c in planned]
    assert [r.label for r in rows][:2] == ["serial", "thread x2"]
    rows = comparison.compare_configs(RunConfig("recursive_submit", workers=2))
    assert [r.label for r in rows] == ["thread x2"]


def _finished(config, tput, cores=2):
    row = comparison.CompareRow(config.label, config)
    row.snap = replace(script(config, cores)[-1], mean_throughput_per_s=tput)
    row.status = "completed"
    row.tree_cpu_mean = row.snap.cpu.tree_percent
    return row


def _run_object(row):
    """The run object ``execscope compare`` reads, for the same figures."""
    snap = row.snap
    return {
        "executor": {"kind": row.config.executor, "start_method": row.config.start_method,
                     "max_workers": snap.max_workers, "requested_workers": row.config.workers},
        "status": row.status, "wall_s": snap.run_elapsed_s,
        "tasks": {"completed": snap.counts.completed, "failed": snap.counts.failed,
                  "throughput_per_s": snap.mean_throughput_per_s, "latency_s": {"p95": snap.latency_s[1]}},
        "ipc": {"share_of_task_time": snap.breakdown.ipc_share},
        "cpu": {"process_tree_mean_percent": row.tree_cpu_mean},
        "alerts": [], "machine": dict(snap.machine),
    }


# (workload, the live run's config, throughputs per planned row): near ties
# where a 10% margin on the raw maximum named another winner or another answer.
SAME_ROWS = [
    ("cpu", (100.0, 96.0, 104.0)),  # 4% apart: serial, the simpler, wins the tie
    ("cpu", (100.0, 99.0, 191.0)),  # processes win clearly: as the article expects
    ("io", (10.0, 90.0, 100.0)),  # threads 10% behind processes: not a tie at 5%
    ("io", (10.0, 97.0, 100.0)),  # threads within 5%: the article's pick holds
]


@pytest.mark.parametrize("workload,tputs", SAME_ROWS)
def test_the_compare_view_and_execscope_compare_give_one_verdict(workload, tputs):
    configs = [RunConfig(workload, "serial", tasks=20),
               RunConfig(workload, "thread", workers=2, tasks=20),
               RunConfig(workload, "process", start_method="fork", workers=2, tasks=20)]
    rows = [_finished(c, t) for c, t in zip(configs, tputs)]
    tui_text = comparison.verdict(rows, workload)
    runs = [_run_object(r) for r in rows]
    cli = compare.verdict_for(compare.rows_from_runs(runs), workload, True, runs[0]["machine"]["usable_cpus"])
    assert tui_text == cli.reason
    speedups = [comparison.speedup(r, rows) for r in rows]
    assert speedups == pytest.approx([row.speedup for row in compare.rows_from_runs(runs)])


def test_a_near_tie_goes_to_the_simpler_executor_in_the_view():
    configs = [RunConfig("cpu", "serial", tasks=20), RunConfig("cpu", "process", start_method="fork",
                                                                 workers=2, tasks=20)]
    rows = [_finished(configs[0], 100.0), _finished(configs[1], 104.0)]
    text = comparison.verdict(rows, "cpu")
    assert text.startswith("serial was fastest") and "within 5%" in text
    rows = [_finished(configs[0], 100.0), _finished(configs[1], 190.0)]
    assert comparison.verdict(rows, "cpu").startswith("process/fork x2 was fastest: 1.90x serial")
    assert comparison.speedup(rows[0], rows) == pytest.approx(1.0)
    assert comparison.verdict([rows[0], comparison.CompareRow("x", configs[1])], "cpu") == "Running…"


def test_script_is_deterministic():
    a = script(RunConfig("cpu", "process", workers=2), 16)
    b = script(RunConfig("cpu", "process", workers=2), 16)
    assert a == b and len(a[-1].cpu.per_core) == 16


def test_live_run_reports_a_usage_error_instead_of_raising():
    done = threading.Event()
    run = LiveRun(RunConfig("no_such_workload"), notify=done.set, factory=FakeFactory())
    run.begin()
    assert run.join(5)
    assert "unknown workload" in run.error


def test_live_run_survives_a_crashing_factory_and_stop_is_idempotent():
    def boom(config, listener, refresh_hz):
        raise RuntimeError("launch failed")

    registry = Registry()
    run = LiveRun(RunConfig("cpu"), notify=lambda: None, factory=boom, registry=registry).begin()
    assert run.join(5) and "launch failed" in run.error
    run.stop()
    run.stop()
    assert registry.runs() == []


def test_registry_stops_and_closes_every_run():
    registry = Registry()
    factory = FakeFactory(pause_at=0.5)
    runs = [LiveRun(RunConfig("cpu"), notify=lambda: None, factory=factory, registry=registry).begin()
            for _ in range(3)]
    for run in runs:
        while run.latest is None:
            threading.Event().wait(0.01)
    registry.close_all(5)
    assert all(run.closed.is_set() for run in runs)
    assert all(s.closed for s in factory.sessions)
    assert all(run.latest.status == "interrupted" for run in runs)


def test_notifications_coalesce_until_taken():
    calls = []
    session_holder = {}

    def factory(config, listener, refresh_hz):
        session_holder["s"] = FakeSession(config, listener, 2, pause_at=0.5)
        return session_holder["s"]

    run = LiveRun(RunConfig("cpu"), notify=lambda: calls.append(1), factory=factory).begin()
    while run.latest is None or not session_holder["s"].started:
        threading.Event().wait(0.01)
    threading.Event().wait(0.05)
    assert len(calls) == 1  # many snapshots, one notification until the UI takes one
    assert run.take() is run.latest
    run.stop()
    assert run.join(5)
    assert len(calls) == 2


def test_state_text_drops_the_task_number_rather_than_cutting_it():
    w = replace(script(RunConfig("pickle_heavy", "process", workers=2, tasks=40))[-1].workers[0],
                state="deserializing", task=12345)
    assert state_text(w) == "⇣ unpickle #12345"
    assert state_text(w, 14) == "⇣ unpickle"


def test_small_terminals_give_up_cores_then_alerts_never_the_fixed_lines():
    from execscope.tui.layout import plan

    assert plan(24, 80, 7, 4).hidden == ()  # 80x24 with a one-run tour step: every panel
    small = plan(20, 60, 8, 4, alerts=1)
    assert small.hidden == ("cores", "bottom")
    assert small.note == "Cores, Time split, Alerts (1 active) hidden (needs 80x24)"
    assert plan(20, 60, 17, 4).hidden == ("cores", "bottom", "middle")
    assert plan(40, 120, 13, 4).hidden == ()


def test_gil_note_says_what_py_spy_did_and_did_not_measure():
    from execscope.model import GilView
    from execscope.tui.widgets.workers import gil_note

    snap = script(RunConfig("cpu", "process", workers=2, tasks=40))[-1]
    sampled = replace(snap, gil=GilView(source="py-spy", reason="py-spy 0.4.0, whole run: 676 samples over 2.8 s"))
    note = gil_note(sampled)
    assert "not measured" not in note  # py-spy did measure: just not these workers' threads
    assert "none of its samples is from these workers" in note and "676 samples over 2.8 s" in note
    missing = replace(snap, gil=GilView(source="unavailable", reason="py-spy cannot attach here"))
    assert gil_note(missing) == "GIL held/wait: not measured — py-spy cannot attach here"


def test_workers_panel_says_how_far_chance_may_put_a_short_runs_gil_wait():
    from execscope.sampling.gilstats import wilson
    from execscope.tui.widgets.workers import margin_line

    snap = script(RunConfig("cpu", "thread", workers=4, tasks=40))[-1]
    workers = list(snap.workers)
    assert workers and margin_line(snap, workers) == ""  # no interval known: nothing said

    def with_samples(n: int):
        threads = tuple(replace(t, wait=0.67, samples=n, wait_range=wilson(round(0.67 * n), n))
                        for t in snap.gil.threads)
        return replace(snap, gil=replace(snap.gil, threads=threads))

    few = margin_line(with_samples(37), workers)
    assert few.startswith("GIL wait \u00b10.1") and "from 37 samples" in few, few
    assert margin_line(with_samples(2000), workers) == ""  # narrow: the figures speak for themselves


def test_compare_table_says_why_a_short_runs_cpu_is_a_dash():
    from execscope.tui.comparison import CompareRow
    from execscope.tui.widgets.compare_table import CompareTable

    cfg = RunConfig("cpu", "process", workers=2, tasks=10)
    short = CompareRow("process x2", cfg, status="completed",
                       snap=replace(script(cfg)[-1], run_elapsed_s=0.3, status="completed"))
    table = CompareTable()
    table.rows = [short]
    plain = table.render().plain
    assert plain.splitlines()[1].rstrip().endswith("-")  # the CPU cell
    assert "CPU -: process x2 ran under 0.5s" in " ".join(plain.split())
    long = replace(short, snap=replace(short.snap, run_elapsed_s=2.0))
    table.rows = [long]
    assert "CPU -" not in table.render().plain


# -- the line-drawn panel body ------------------------------------------------------------

from hypothesis import given, strategies as st  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.text import Text  # noqa: E402

from tui.widgets.lines_body import split_lines  # noqa: E402


@given(st.lists(st.text(alphabet="ab \n▶█", max_size=12), min_size=1, max_size=6),
       st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.sampled_from(["bold", "red", "dim green"])),
                max_size=8))
def test_split_lines_draws_every_line_as_rich_does(pieces, spans):
    """The worker table's body cuts its text into lines itself (one pass over
    the spans); each line must draw exactly as Rich's own split draws it."""
    text = Text("".join(pieces))
    for start, end, style in spans:
        text.stylize(style, min(start, end), max(start, end))
    plain = text.plain.split("\n")
    console = Console(width=80, color_system="truecolor", force_terminal=True)
    ours = split_lines(text, plain)
    rich = text.split("\n", allow_blank=True)
    assert [line.plain for line in ours] == plain
    for mine, theirs in zip(ours, rich):
        theirs.end = ""
        assert list(mine.render(console)) == list(theirs.render(console))
