"""Pure parts of program/attach runs and of alert evidence: which executor is
shown, how snapshots are narrowed to it, how evidence reads."""

from __future__ import annotations

from dataclasses import replace

import pytest

from execscope.model import RunConfig
from execscope.tui.evidence import evidence_items, evidence_lines, evidence_text, flow
from tui_fake_program import attach_script, program_script
from execscope.tui.sources import Focus, exit_text, is_summed, kinds, short_label, source_of

PROGRAM = RunConfig("p", argv=("python", "pipeline.py"))


def test_source_is_known_from_the_config_alone():
    assert source_of(None) == "runner"
    assert source_of(RunConfig("cpu", "process")) == "runner"
    assert source_of(PROGRAM) == "program"
    assert source_of(RunConfig("x", executor="program")) == "program"
    assert source_of(RunConfig("pid 3", attach_pid=3)) == "attach"


def test_exit_codes_read_as_words():
    assert [exit_text(c) for c in (0, 1, -15, None)] == ["exit 0", "exit 1", "killed by SIGTERM", ""]


def test_focus_cycles_all_then_each_executor_and_wraps():
    snaps = program_script(PROGRAM, finish=False)
    snap = snaps[-1]
    focus = Focus()
    assert focus.position(snap) == (0, 2)
    seen = []
    for _ in range(3):
        focus.cycle(snap, 1)
        seen.append(focus.position(snap)[0])
    assert seen == [1, 2, 0]
    focus.cycle(snap, -1)
    assert focus.selected == snap.executors[-1].id


def test_focus_narrows_the_snapshot_and_its_history():
    snaps = program_script(PROGRAM, finish=False)
    focus = Focus()
    view, history = focus.view(snaps[-1], snaps)
    assert view is snaps[-1] and is_summed(view) and kinds(view) == ("process", "thread")
    focus.cycle(snaps[-1], 1)
    view, history = focus.view(snaps[-1], snaps)
    assert not is_summed(view) and kinds(view) == ("thread",)
    assert view.config.executor == "thread" and view.max_workers == 8
    assert all(w.label.startswith("ThreadPoolExecutor") for w in view.workers)
    assert view.counts == snaps[-1].executors[0].counts
    assert len(history) == len(snaps) and history[-1].counts == view.counts
    again, history2 = focus.view(snaps[-1], snaps)
    assert history2[0] is history[0]  # narrowed once, then taken from the cache


def test_focus_falls_back_to_all_when_the_executor_is_gone():
    snaps = program_script(PROGRAM, finish=False)
    focus = Focus()
    focus.cycle(snaps[-1], 1)
    gone = replace(snaps[-1], executors=snaps[-1].executors[1:] + (replace(snaps[-1].executors[1], id="9:9"),))
    view, _ = focus.view(gone, [gone])
    assert is_summed(view) and focus.selected is None


def test_a_single_executor_is_shown_as_itself():
    snap = attach_script(RunConfig("pid 4242", attach_pid=4242))[5]
    view, _ = Focus().view(snap, [snap])
    assert view.config.executor == "thread" and len(view.workers) == 3
    assert view.unavailable == snap.unavailable and view.source == "attach"


def test_worker_labels_fit_their_column():
    assert short_label("ThreadPoolExecutor-12_3", 12) == "TPE-12_3"
    assert short_label("pid 41200", 12) == "pid 41200"
    for label in ("asyncio_0", "a" * 40, "x-" * 10 + "7", "SomeLongThreadName_123"):
        assert len(short_label(label, 12)) <= 12


GIL_EVIDENCE = {
    "running_workers": 3.984, "computing_workers": 4, "pool_cpu_percent": 101.234,
    "worker_cpu_percent": {"worker_0": 25.53, "worker_1": 25.1, "worker_2": 24.9, "worker_3": 25.77},
    "usable_cpus": 2, "switch_interval_s": 0.005, "source": "scheduler", "gil_wait_mean": 0.734,
    "executor": "prog.py:3", "executor_id": "1:1",
}
CRASH_EVIDENCE = {
    "pid": 123, "exitcode": -9, "signal": "SIGKILL", "died_at_s": 1.2345, "python_warning": None,
    "dead_workers": [{"pid": 123, "exitcode": -9, "signal": "SIGKILL", "t_s": 1.2345},
                     {"pid": 124, "exitcode": -9, "signal": "SIGKILL", "t_s": 1.5}],
}


def test_nested_evidence_reads_as_words_not_python():
    text = evidence_text(GIL_EVIDENCE)
    assert "{" not in text and "'" not in text
    assert "worker_cpu_percent (worker_0 26%, worker_1 25%, worker_2 25%, worker_3 26%)" in text
    assert "pool_cpu_percent 101%" in text and "switch_interval_s 5ms" in text
    assert "gil_wait_mean 73%" in text and "running_workers 3.98" in text
    assert "executor" not in text.replace("executor_", "")  # the message already names it
    crash = evidence_text(CRASH_EVIDENCE)
    assert "[" in crash and "pid 124, exitcode -9, signal SIGKILL, t_s 1.50s" in crash
    assert "python_warning" not in crash and "died_at_s 1.23s" in crash


def test_long_lists_are_cut_with_a_count():
    items = evidence_items({"blocked_workers": ["worker_%d" % i for i in range(10)]})
    assert items == ["blocked_workers [worker_0, worker_1, worker_2, worker_3, +6]"]


@pytest.mark.parametrize("width", [30, 40, 60, 76, 80])
@pytest.mark.parametrize("evidence", [GIL_EVIDENCE, CRASH_EVIDENCE])
def test_evidence_lines_fit_the_width_and_count_what_is_left(width, evidence):
    lines = evidence_lines(evidence, width, first=11, indent=4, max_lines=3)
    assert 1 <= len(lines) <= 3
    assert len(lines[0]) <= width - 11
    assert all(len(line) <= width - 4 for line in lines[1:])
    shown = " ".join(lines)
    if "more" in lines[-1]:
        assert lines[-1].split()[-1] == "more" and lines[-1].split()[-2].startswith("+")
    else:
        def bare(text):  # a line break between two items replaces their " · "
            return text.replace("·", "").replace(" ", "")

        assert bare(shown) == bare(evidence_text(evidence))


@pytest.mark.parametrize("width", [30, 40, 60, 76, 80])
@pytest.mark.parametrize("evidence", [GIL_EVIDENCE, CRASH_EVIDENCE,
                                      {"blocked_workers": ["worker_%d" % i for i in range(9)],
                                       "queued": 9, "running_tasks": list(range(12))}])
def test_the_panel_shows_whole_evidence_items_never_half_of_one(width, evidence):
    def bare(text):
        return text.replace("·", "").replace(" ", "")

    lines = evidence_lines(evidence, width, first=11, indent=4, max_lines=3)
    shown = " ".join(lines)
    if "more" in lines[-1]:
        shown = shown.rsplit("+", 1)[0]
    items = evidence_items(evidence)
    prefixes = [bare(" · ".join(items[:k])) for k in range(len(items) + 1)]
    if len(flow(items[:1] + ["+9 more"], width, first=11, indent=4)) > 3:  # too long: cut, and says so
        assert "…" in lines[-1]
    else:
        assert bare(shown) in prefixes, lines


def test_an_alert_opened_whole_keeps_every_list_entry():
    items = evidence_items({"blocked_workers": ["worker_%d" % i for i in range(10)]}, whole=True)
    assert items == ["blocked_workers [%s]" % ", ".join("worker_%d" % i for i in range(10))]


def test_screenshot_script_names_its_scenes_and_labels_scripted_data(tmp_path, capsys):
    import make_screenshots as screenshots

    names = [s.name for s in screenshots.SCENES]
    assert len(names) == len(set(names))
    scripted = [s for s in screenshots.SCENES if not s.measured]
    assert {s.name for s in scripted} == {"cores-128", "picker"}  # every other picture is a real run
    assert screenshots.main([str(tmp_path), "no-such-scene"]) == 2
    assert screenshots.main([str(tmp_path), "cores-128"]) == 0
    svg = (tmp_path / "cores-128.svg").read_text()
    assert "SCRIPTED&#160;DATA" in svg or "SCRIPTED DATA" in svg
