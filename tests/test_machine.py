"""Usable CPUs (claim C4): the affinity mask and the cgroup quota both cut what
``os.cpu_count()`` says, and ThreadPoolExecutor's default max_workers follows
some of them and not others, depending on the version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from execscope import machine
from execscope.interpreters import discovered

EXECSCOPE = os.path.join(os.path.dirname(sys.executable), "execscope")


def fake_fs(monkeypatch, files):
    monkeypatch.setattr(machine, "_read", lambda path: files.get(path))


def test_cgroup_v2_the_tightest_quota_on_the_path_to_the_root(monkeypatch):
    fake_fs(monkeypatch, {
        "/proc/self/cgroup": "0::/kube/pod1/app\n",
        "/sys/fs/cgroup/kube/pod1/app/cpu.max": "max 100000",
        "/sys/fs/cgroup/kube/pod1/cpu.max": "150000 100000",
        "/sys/fs/cgroup/kube/cpu.max": "400000 100000",
    })
    assert machine.cgroup_cpu_limit() == 1.5
    assert machine.usable_cpus(16, 16, machine.cgroup_cpu_limit()) == 2


def test_cgroup_v1_reads_the_process_own_cpu_cgroup_not_the_root(monkeypatch):
    fake_fs(monkeypatch, {
        "/proc/self/cgroup": "5:memory:/docker/x\n4:cpu,cpuacct:/docker/x\n0::/\n",
        "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "-1",
        "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000",
        "/sys/fs/cgroup/cpu,cpuacct/docker/x/cpu.cfs_quota_us": "300000",
        "/sys/fs/cgroup/cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000",
        "/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us": "200000",
        "/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_period_us": "100000",
    })
    assert machine.cgroup_cpu_limit() == 2.0


def test_no_quota_anywhere_is_none(monkeypatch):
    fake_fs(monkeypatch, {"/proc/self/cgroup": "1:cpu:/\n0::/\n",
                          "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1",
                          "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000",
                          "/sys/fs/cgroup/cpu.max": "max 100000"})
    assert machine.cgroup_cpu_limit() is None


def _run_json(tmp_path, args, preexec=None, python=None):
    out = tmp_path / ("%s.json" % uuid.uuid4().hex)
    extra = ["--python", python] if python else []
    result = subprocess.run([EXECSCOPE, "run", "noop", "--executor", "thread", "--tasks", "20", *extra,
                             "--headless", "--json", str(out), *args],
                            capture_output=True, text=True, timeout=120, preexec_fn=preexec)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(out.read_text())


def _quota_cgroup():
    """A fresh cgroup granting half a CPU (v1 cpu controller, or v2 with cpu
    enabled), as (directory, procs file); skips where this user cannot make one."""
    name = "execscope-test-%s" % uuid.uuid4().hex[:8]
    v1 = os.path.join(machine.CGROUP_ROOT, "cpu")
    try:
        if os.path.exists(os.path.join(v1, "cpu.cfs_quota_us")):
            path = os.path.join(v1, name)
            os.mkdir(path)
            with open(os.path.join(path, "cpu.cfs_quota_us"), "w") as fh:
                fh.write("50000")
            return path
        if os.path.exists(os.path.join(machine.CGROUP_ROOT, "cgroup.controllers")):
            path = os.path.join(machine.CGROUP_ROOT, name)
            os.mkdir(path)
            with open(os.path.join(path, "cpu.max"), "w") as fh:
                fh.write("50000 100000")
            return path
    except OSError as exc:
        pytest.skip("cannot make a cgroup with a CPU quota here (%s)" % exc)
    pytest.skip("no cgroup cpu controller mounted here")


def test_a_real_cgroup_quota_is_seen_by_a_run(tmp_path):
    path = _quota_cgroup()
    procs = os.path.join(path, "cgroup.procs")

    def join():
        with open(procs, "w") as fh:
            fh.write(str(os.getpid()))

    try:
        run = _run_json(tmp_path, [], preexec=join)
    finally:
        os.rmdir(path)
    m = run["machine"]
    assert m["cgroup_cpu_limit"] == pytest.approx(0.5)
    assert m["usable_cpus"] == 1
    # ThreadPoolExecutor never reads the quota: its default still counts every CPU
    assert run["executor"]["max_workers"] == min(32, m["interpreter_cpu_count"] + 4)


def _pinned():
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def _interpreter(at_least):
    for info in discovered():
        if tuple(info["version"][:2]) >= at_least and info.get("gil_enabled", True):
            return info
    return None


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs in the affinity mask")
@pytest.mark.parametrize("newer", [False, True], ids=["before-3.13", "3.13+"])
def test_an_affinity_mask_cuts_usable_cpus_and_3_13_defaults_follow_it(tmp_path, newer):
    if newer:
        info = _interpreter((3, 13))
        if info is None:
            pytest.skip("no CPython 3.13+ (GIL build) found here")
        python, version = info["path"], tuple(info["version"][:2])
    else:
        info = next((i for i in discovered() if (3, 9) <= tuple(i["version"][:2]) < (3, 13)), None)
        if info is None:
            pytest.skip("no CPython 3.9-3.12 found here")
        python, version = info["path"], tuple(info["version"][:2])
    run = _run_json(tmp_path, [], preexec=_pinned, python=python)
    m = run["machine"]
    assert m["affinity_cpus"] == 1 and m["usable_cpus"] == 1
    logical = os.cpu_count()
    expected = min(32, (1 if version >= (3, 13) else logical) + 4)
    assert run["executor"]["max_workers"] == expected, (version, run["executor"])
