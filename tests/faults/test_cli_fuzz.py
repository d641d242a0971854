"""Property: whatever the arguments, the CLI never shows a traceback. Either the
request is valid (and would run) or it exits 2 with one line naming the bad
argument."""

from __future__ import annotations

import contextlib
import io
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execscope import cli
from execscope.validate import validate
from helpers import ROOT, cli as run_cli

WORKLOADS = ["cpu", "io", "noop", "chunksize", "pickle_heavy", "recursive_submit"]
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "custom_tasks.py")

numbers = st.one_of(
    st.integers(min_value=-10**12, max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "0", "-0", "1e309", "0x10", "1_000", " 3", "nan", "inf", "two", "١٢"]),
    st.text(max_size=8),
)
params = st.lists(
    st.one_of(
        st.sampled_from(["size=1000", "latency_ms=1", "chunksize=4", "mb=0.1", "fanout=1"]),
        st.builds(lambda k, v: "%s=%s" % (k, v), st.sampled_from(["size", "latency_ms", "chunksize", "mb",
                                                                  "variant", "kind", "nope", ""]), numbers),
        st.text(max_size=10),
    ),
    max_size=3,
)
specs = st.one_of(
    st.sampled_from(WORKLOADS),
    st.sampled_from(["", ":", "os:", ":f", "no.such:f", "/nonexistent.py:f", "cpu:cpu", "../x.py:y",
                     FIXTURE + ":scaled"]),
    st.text(max_size=12),
)


@st.composite
def argvs(draw):
    argv = ["run", draw(specs), "--headless"]
    for flag, values in (
        ("--executor", st.sampled_from(["serial", "thread", "process", "gpu", ""])),
        ("--start-method", st.sampled_from(["fork", "spawn", "forkserver", "vfork"])),
        ("--workers", numbers),
        ("--tasks", numbers),
        ("--duration", numbers),
        ("--timeout", numbers),
        ("--python", st.sampled_from(["/bin/true", "/no/python", "python3", "/dev/null", ""])),
        ("--json", st.sampled_from(["/tmp", "/no/dir/out.json", "", "out.json"])),
        ("--on-deadlock", st.sampled_from(["stop", "wait", "panic"])),
    ):
        if draw(st.booleans()) and draw(st.booleans()):
            argv += [flag, draw(values)]
    for pair in draw(params):
        argv += ["--param", pair]
    return argv


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(argv=argvs())
def test_any_arguments_give_a_valid_request_or_one_line(argv, monkeypatch_module):
    validated = []

    def fake_headless(config, json_path, out=None, refresh_hz=10.0):
        validated.append(validate(config))  # raises UsageError like the real run would
        return 0

    monkeypatch_module.setattr(cli, "run_headless", fake_headless)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    assert "Traceback" not in err.getvalue() + out.getvalue()
    assert code in (0, 2), (argv, code, err.getvalue())
    if code == 2:
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("execscope: error: "), err.getvalue()
        message = lines[0][len("execscope: error: "):]
        assert message.strip(), argv
    else:
        assert validated, argv


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    workload=st.sampled_from(["cpu", "noop", "io"]),
    executor=st.sampled_from(["serial", "thread", "process"]),
    # mostly valid counts (so most examples are real runs), sometimes not
    workers=st.one_of(st.integers(min_value=1, max_value=3), st.integers(min_value=1, max_value=3),
                      st.integers(min_value=-2, max_value=0)),
    tasks=st.one_of(st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=6),
                    st.integers(min_value=-1, max_value=0)),
)
def test_real_runs_from_generated_arguments(workload, executor, workers, tasks):
    argv = ["run", workload, "--executor", executor, "--tasks", str(tasks), "--headless"]
    argv += {"cpu": ["--param", "size=2000"], "io": ["--param", "latency_ms=1"], "noop": []}[workload]
    if executor != "serial":
        argv += ["--workers", str(workers)]
    invalid = tasks < 1 or (executor != "serial" and workers < 1)
    result = run_cli(*argv, timeout=120)
    assert "Traceback" not in result.stderr + result.stdout
    if invalid:
        assert result.returncode == 2, (argv, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    else:
        assert result.returncode == 0, (argv, result.stdout, result.stderr)
