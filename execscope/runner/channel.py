"""The telemetry channel to the execscope process, and what a process says about itself.

Used by the runner (over the pipe it inherits) and by the instrumentation
injected into a user's program (over a Unix socket in the run's private
directory), so both ends speak exactly the same ``protocol`` lines.
Standard library only, Python 3.9 syntax.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict

from .. import protocol


class ParentGone(Exception):
    pass


class Channel:
    """Line-delimited JSON on a pipe or stream socket to the parent."""

    def __init__(self, fd: int, parent_pid: int) -> None:
        self.fd = fd
        self.parent_pid = parent_pid

    def send(self, msg_kind: str, /, **fields: Any) -> None:
        data = protocol.encode(msg_kind, **fields)
        try:
            view = memoryview(data)
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
        except (BrokenPipeError, OSError):
            raise ParentGone() from None

    def check_parent(self) -> None:
        if os.getppid() != self.parent_pid:
            raise ParentGone()


def interpreter_info() -> Dict[str, Any]:
    gil_check = getattr(sys, "_is_gil_enabled", None)
    return {
        "executable": sys.executable,
        "version": "%d.%d.%d" % sys.version_info[:3],
        "implementation": sys.implementation.name,
        "gil_enabled": bool(gil_check()) if gil_check else True,
        "free_threaded_build": bool(__import__("sysconfig").get_config_var("Py_GIL_DISABLED")),
        "switch_interval_s": sys.getswitchinterval(),
    }
