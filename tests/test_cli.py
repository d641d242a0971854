"""The command line: real runs, custom workloads, and bad input that must get one
clear line and exit status 2 (never a traceback)."""

from __future__ import annotations

import os

import pytest

from helpers import ROOT, cli, load

FIXTURE = os.path.join(ROOT, "tests", "fixtures", "custom_tasks.py")


def assert_usage_error(result, *needles):
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("execscope: error: ")
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["run", "no_such_workload", "--headless"], "unknown workload"),
        (["run", "cpu", "--workers", "0", "--headless"], "--workers 0"),
        (["run", "cpu", "--workers", "-3", "--headless"], "--workers -3"),
        (["run", "cpu", "--workers", "100000", "--headless"], "--workers 100000"),
        (["run", "cpu", "--workers", "two", "--headless"], "--workers"),
        (["run", "cpu", "--tasks", "0", "--headless"], "--tasks 0"),
        (["run", "cpu", "--duration", "-1", "--headless"], "--duration"),
        (["run", "cpu", "--timeout", "nan", "--headless"], "--timeout"),
        (["run", "cpu", "--executor", "gpu", "--headless"], "--executor"),
        (["run", "cpu", "--executor", "process", "--start-method", "vfork", "--headless"], "--start-method"),
        (["run", "cpu", "--executor", "thread", "--start-method", "spawn", "--headless"], "--start-method"),
        (["run", "cpu", "--param", "nope=1", "--headless"], "nope"),
        (["run", "cpu", "--param", "size=big", "--headless"], "size=big"),
        (["run", "cpu", "--param", "size", "--headless"], "KEY=VALUE"),
        (["run", "io", "--param", "variant=carrier-pigeon", "--headless"], "variant"),
        (["run", "recursive_submit", "--executor", "process", "--headless"], "cannot run under"),
        (["run", "cpu", "--python", "/bin/true", "--headless"], "/bin/true"),
        (["run", "cpu", "--python", "/no/such/python", "--headless"], "/no/such/python"),
        (["run", "cpu", "--python", "/usr/bin/env", "--headless"], "/usr/bin/env"),
        (["run", "cpu", "--headless", "--json", "/no/such/dir/out.json"], "/no/such/dir"),
        (["run", "no.such.module:fn", "--headless"], "no.such.module"),
        (["run", "os:no_such_function", "--headless"], "no_such_function"),
        (["run", "/no/such/file.py:fn", "--headless"], "does not exist"),
        (["run", FIXTURE + ":missing", "--headless"], "missing"),
        (["run", FIXTURE + ":square", "--executor", "process", "--headless"], "cannot be pickled"),
        (["run", FIXTURE + ":scaled", "--param", "nope=1", "--headless"], "nope"),
        (["frobnicate"], "frobnicate"),
        (["run", FIXTURE, "--headless"], "execscope run -- python " + FIXTURE),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle):
    assert_usage_error(cli(*args), needle)


def test_a_syntax_error_names_the_file_line_and_message(tmp_path):
    (tmp_path / "broken.py").write_text("def f(i):\n    return (i +\n")
    assert_usage_error(cli("run", str(tmp_path / "broken.py") + ":f", "--headless"),
                       "broken.py: syntax error at line 2", "never closed")
    (tmp_path / "helper_mod.py").write_text("x = [\n")
    (tmp_path / "uses.py").write_text("import helper_mod\ndef f(i):\n    return i\n")
    assert_usage_error(cli("run", str(tmp_path / "uses.py") + ":f", "--headless"),
                       "uses.py: syntax error in %s at line 1" % (tmp_path / "helper_mod.py"), "never closed")


def test_unavailable_start_method_is_a_usage_error(monkeypatch):
    from execscope import validate as checks
    from execscope.errors import UsageError
    from execscope.model import RunConfig

    facts = dict(checks.probe(None), start_methods=["spawn"], default_start_method="spawn")
    monkeypatch.setattr(checks, "probe", lambda python: facts)
    with pytest.raises(UsageError, match="forkserver is not available"):
        checks.validate(RunConfig("cpu", executor="process", start_method="forkserver"))


def test_list_shows_every_workload_with_its_claims():
    from execscope.workloads import catalog

    result = cli("list")
    assert result.returncode == 0
    for name, workload in catalog().items():
        assert name in result.stdout
        assert ",".join(workload.claims) in result.stdout


def test_run_writes_json_with_the_contract_keys(tmp_path):
    out = tmp_path / "out.json"
    result = cli("run", "cpu", "--executor", "process", "--start-method", "spawn", "--workers", "2",
                 "--tasks", "20", "--param", "size=20000", "--headless", "--json", str(out))
    assert result.returncode == 0, result.stderr
    data = load(str(out))
    assert data["schema"] == "execscope.run/1"
    for key in ("workload", "executor", "interpreter", "machine", "status", "wall_s", "tasks",
                "breakdown_s", "ipc", "gil", "cpu", "alerts", "timeline"):
        assert key in data, key
    assert data["workload"] == {"name": "cpu", "params": {"size": "20000"}, "summary": data["workload"]["summary"]}
    assert data["executor"]["kind"] == "process" and data["executor"]["start_method"] == "spawn"
    assert data["executor"]["max_workers"] == 2
    assert isinstance(data["interpreter"]["gil_enabled"], bool)
    assert data["interpreter"]["switch_interval_s"] == pytest.approx(0.005)
    assert data["machine"]["logical_cpus"] >= 1 and data["machine"]["usable_cpus"] >= 1
    assert data["status"] == "completed"
    assert set(data["tasks"]["latency_s"]) == {"p50", "p95", "p99"}
    assert set(data["breakdown_s"]) == {"queue_wait", "serialize", "transfer", "deserialize", "compute",
                                        "result_serialize", "result_transfer", "result_deserialize"}
    assert data["gil"]["source"] in ("py-spy", "flags", "probe", "unavailable", "disabled")
    assert len(data["cpu"]["per_core_mean_percent"]) == data["machine"]["logical_cpus"]
    assert isinstance(data["alerts"], list)
    point = data["timeline"][-1]
    assert {"t_s", "queue_depth", "running", "completed"} <= set(point)
    assert oct(os.stat(out).st_mode & 0o777) in ("0o644", "0o640", "0o600")
    # what watching cost the run, as execscope measured it: tasks 0 and 16 of 20 timed
    observer = data["observer"]
    assert observer["instrumentation"]["timed_every"] == 16 and observer["instrumentation"]["timed_tasks"] == 2
    assert 0 < observer["instrumentation"]["per_task_s"] < 0.01
    assert observer["rates"]["refresh_hz"] == 10 and observer["samplers"]["ticker_cpu_s"] >= 0
    # headless prints progress lines and a summary
    assert "status  completed" in result.stdout


def test_custom_file_workload_with_params(tmp_path):
    out = tmp_path / "o.json"
    result = cli("run", FIXTURE + ":scaled", "--executor", "process", "--workers", "2", "--tasks", "10",
                 "--param", "factor=3", "--headless", "--json", str(out))
    assert result.returncode == 0, result.stderr
    data = load(str(out))
    assert data["tasks"]["completed"] == 10


def test_custom_module_workload(tmp_path):
    out = tmp_path / "o.json"
    result = cli("run", "tests.fixtures.custom_tasks:takes_any", "--tasks", "5", "--param", "a=1",
                 "--param", "b=x", "--headless", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert load(str(out))["tasks"]["completed"] == 5


def test_doctor_reports_the_basics():
    result = cli("doctor")
    assert result.returncode == 0
    for word in ("interpreter", "cpus", "start methods"):
        assert word in result.stdout


def test_on_deadlock_wait_keeps_a_starved_run_until_its_timeout(tmp_path):
    out = tmp_path / "wait.json"
    result = cli("run", "recursive_submit", "--executor", "thread", "--workers", "2", "--tasks", "8",
                 "--on-deadlock", "wait", "--timeout", "3", "--no-gil", "--headless", "--json", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    data = load(out)
    assert data["status"] == "timeout"  # not stopped as a deadlock: the user asked to wait
    assert any(a["kind"] == "starvation" and a["severity"] == "critical" for a in data["alerts"])
    assert data["wall_s"] >= 2.5  # ran on past the deadlock (wall counts from the pool's creation)


def test_refresh_sets_the_snapshot_rate(tmp_path):
    counts = {}
    for hz in ("2", "20"):
        out = tmp_path / ("r%s.json" % hz)
        result = cli("run", "io", "--executor", "thread", "--workers", "2", "--duration", "2",
                     "--refresh", hz, "--no-gil", "--headless", "--json", str(out))
        assert result.returncode == 0, result.stdout + result.stderr
        data = load(out)
        counts[hz] = len(data["timeline"])
        # never more snapshots than the rate allows over the run and its start-up
        # (wall_s counts from the pool's creation); a loaded machine may give fewer
        assert counts[hz] <= (data["wall_s"] + 0.5) * float(hz) + 2, (hz, counts[hz], data["wall_s"])
    assert counts["20"] >= 3 * counts["2"], counts


def test_tour_and_compare_without_a_terminal_print_instead_of_opening_the_tui():
    # no --headless: stdout is a pipe here, so both print what they measured
    tour = cli("tour", "--size", "tiny", "--claims", "C1", "--no-gil")
    assert tour.returncode == 0, tour.stderr
    assert tour.stdout.startswith("tour: 1 claims, tiny sizes") and "\x1b[" not in tour.stdout
    compare = cli("compare", "cpu", "--tasks", "4", "--param", "size=2000", "--executors", "serial,thread",
                  "--workers", "2", "--no-gil")
    assert compare.returncode == 0, compare.stderr
    assert compare.stdout.startswith("compare cpu: 2 runs (serial, thread x2)")
    assert "was fastest" in compare.stdout and "\x1b[" not in compare.stdout
