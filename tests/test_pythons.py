"""``make pythons``: the cached 3.14, 3.15 and free-threaded 3.13t run, and execscope finds them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from execscope import interpreters
from execscope.interpreters import PYTHONS, cached_python, probe
from execscope.sampling.gil import gil_method

from helpers import ROOT, cli
from pythons import python_or_skip

TOOL = ["-m", "execscope.pythons"]


@pytest.mark.parametrize("name", sorted(PYTHONS))
def test_cached_interpreter_runs_what_a_run_needs(name: str) -> None:
    path = python_or_skip(name)
    info = probe(path)
    assert ".".join(map(str, info["version"][:2])) == name.rstrip("t")
    assert info["free_threaded_build"] is name.endswith("t")
    # the pool closed by its with-block: one left to the interpreter's exit hung
    # a free-threaded 3.13t about once in fifteen runs (its finalizer at shutdown)
    out = subprocess.run([path, "-I", "-c", "import ssl, sqlite3, json, multiprocessing as m\n"
                          "with m.get_context('spawn').Pool(1) as pool: print(pool.apply(sum, ([1, 2],)))"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "3", out.stderr


@pytest.mark.parametrize("name, method", [("3.15", "flags"), ("3.14", "py-spy"), ("3.13t", "disabled")])
def test_each_interpreter_gets_its_gil_method(name: str, method: str) -> None:
    assert gil_method(probe(python_or_skip(name))) == method


def test_discovery_and_doctor_list_the_cached_interpreters() -> None:
    present = [p for p in (cached_python(n)[0] for n in PYTHONS) if p]
    if not present:
        pytest.skip(cached_python("3.15")[1])
    assert set(present) <= set(interpreters.discover())
    out = cli("doctor")
    assert out.returncode == 0, out.stderr
    for path in present:
        assert path in out.stdout
    if cached_python("3.15")[0]:
        assert "thread-state flags" in out.stdout


def test_a_missing_cache_says_why_and_what_to_run(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EXECSCOPE_PYTHONS", str(tmp_path))
    path, why = cached_python("3.15")
    assert path is None and "make pythons" in why
    (tmp_path / "status.json").write_text(json.dumps({"3.15": {"ok": False, "reason": "apt-get update failed: E: no network"}}))
    path, why = cached_python("3.15")
    assert path is None and "no network" in why


def test_make_pythons_keeps_what_is_there_and_refuses_unknown_names() -> None:
    for name in PYTHONS:
        python_or_skip(name)
    out = subprocess.run([sys.executable, *TOOL], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("ready") == len(PYTHONS), out.stdout  # nothing fetched or built again
    bad = subprocess.run([sys.executable, *TOOL, "2.7"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no such interpreter here: 2.7" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_upstream_tarball_is_chosen_over_its_signature(tmp_path) -> None:
    from execscope.pythons import Failed, upstream_tarball

    with pytest.raises(Failed):
        upstream_tarball(str(tmp_path))
    for name in ("python3.13_3.13.5.orig.tar.xz", "python3.13_3.13.5.orig.tar.xz.asc",
                 "python3.13_3.13.5-2.debian.tar.xz"):
        (tmp_path / name).write_bytes(b"")
    assert os.path.basename(upstream_tarball(str(tmp_path))) == "python3.13_3.13.5.orig.tar.xz"


_COUNTS = r"""
import sys
sys.path.insert(0, sys.argv[1])
from concurrent.futures import ThreadPoolExecutor
from execscope.runner import instrument

def task(i):
    if i % 997 == 13:
        raise ValueError(i)
    return sum(range(200))

with ThreadPoolExecutor(4) as ex:
    tracker = instrument.Tracker(ex, "thread", None, deliver_results=False)
    tracker.submit_all(task, range(20000), {})
    tracker.close_submission()
    while not tracker.check_done():
        tracker.all_done.wait(0.01)
    totals, state = tracker.totals(), tracker.poll()
print(totals["items"], totals["failed"], state["submitted"], state["completed"])
"""


@pytest.mark.parametrize("name", sorted(PYTHONS))
def test_each_interpreter_counts_a_thread_pools_bare_tasks_exactly(name: str) -> None:
    """The sweep that counts untimed thread-pool tasks, on each interpreter:
    without a GIL, workers finish tasks while the sweep reads them (a sweep
    that read its window in place counted 20837-22186 of 20000 on 3.13t)."""
    path = python_or_skip(name)
    out = subprocess.run([path, "-I", "-c", _COUNTS, ROOT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    failing = sum(1 for i in range(20000) if i % 997 == 13)
    assert out.stdout.split() == [str(20000), str(failing), str(20000), str(20000 - failing)]
