"""Security hygiene: a pipe, never a port; private files; results never half-written."""

from __future__ import annotations

import json
import os
import stat

import psutil
import pytest

from helpers import start_session, wait_for
from execscope.report import write_json_atomic


def test_a_run_opens_no_inet_socket_and_keeps_its_files_private():
    me = psutil.Process()
    before = {c.laddr for c in me.net_connections(kind="inet")}
    session = start_session("cpu", executor="process", start_method="spawn", workers=2, duration=30,
                            params={"size": "20000"})
    try:
        wait_for(session, lambda snap: snap.counts.completed > 5)
        tree = [psutil.Process(session.proc.pid)] + psutil.Process(session.proc.pid).children(recursive=True)
        assert len(tree) >= 3  # runner and two workers at least
        for proc in tree:
            assert proc.net_connections(kind="inet") == [], proc.cmdline()
        assert {c.laddr for c in me.net_connections(kind="inet")} == before
        # the telemetry travels over a pipe inherited by the runner
        runner_fds = {f.path for f in psutil.Process(session.proc.pid).open_files()}
        assert not any(":" in path for path in runner_fds)
        mode = stat.S_IMODE(os.stat(session.run_dir).st_mode)
        assert mode == 0o700, oct(mode)
        for name in os.listdir(session.run_dir):
            path = os.path.join(session.run_dir, name)
            if not os.path.islink(path):
                assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, (name, oct(os.stat(path).st_mode))
    finally:
        session.stop()
        session.close()


def test_json_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "run.json"
    write_json_atomic(str(path), {"schema": "first"})
    original = path.read_text()

    def broken_dump(obj, fh, **kwargs):
        fh.write('{"schema": "sec')  # half-way ...
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", broken_dump)
    with pytest.raises(OSError):
        write_json_atomic(str(path), {"schema": "second"})
    assert path.read_text() == original
    assert os.listdir(tmp_path) == ["run.json"]  # no temporary file left behind


def test_json_is_written_with_the_users_umask(tmp_path):
    old = os.umask(0o077)
    try:
        write_json_atomic(str(tmp_path / "a.json"), {})
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode) == 0o600
    write_json_atomic(str(tmp_path / "b.json"), {})
    assert stat.S_IMODE(os.stat(tmp_path / "b.json").st_mode) == 0o644 & ~old
