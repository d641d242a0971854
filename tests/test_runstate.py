"""Pure run-state helpers: CPU means over a run."""

from execscope.runstate import CpuMeans


def test_cpu_means_use_running_ticks_only_when_there_are_some():
    means = CpuMeans()
    means.add([100.0, 0.0], 50.0, running=False)
    means.add([50.0, 50.0], 80.0, running=True)
    means.add([30.0, 70.0], 60.0, running=True)
    assert means.per_core() == [40.0, 60.0]
    assert means.tree() == 70.0


def test_a_run_shorter_than_a_tick_still_reports_its_cpu():
    means = CpuMeans()
    means.add([], 0.0, running=False)  # a sampler's first, empty reading
    means.add([90.0, 10.0], 100.0, running=False)
    assert means.per_core() == [90.0, 10.0]
    assert means.tree() == 100.0


def test_no_reading_at_all_gives_empty_means():
    assert CpuMeans().per_core() == [] and CpuMeans().tree() == 0.0
