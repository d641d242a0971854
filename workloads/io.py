"""Blocking waits that release the GIL: sleep, or a loopback socket round trip."""

from __future__ import annotations

import heapq
import selectors
import socket
import threading
import time
from typing import Any, Dict

from .base import Param, Workload

_REQUEST = b"ping\n"
_REPLY = b"pong\n"


class DelayServer:
    """A tiny TCP server on 127.0.0.1 that answers each request after a delay.

    One thread with a selector and a heap of due replies: it sleeps in
    ``select`` (GIL released) almost all the time, so it barely disturbs the
    run it serves.
    """

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self._sel = selectors.DefaultSelector()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(256)
        self._listener.setblocking(False)
        self._sel.register(self._listener, selectors.EVENT_READ)
        self._due: list = []
        self._stop = False
        self._thread = threading.Thread(target=self._serve, name="io-delay-server", daemon=True)

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def start(self) -> "DelayServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop = True
        self._thread.join(timeout=2)
        for key in list(self._sel.get_map().values()):
            key.fileobj.close()
        self._sel.close()

    def _serve(self) -> None:
        seq = 0
        while not self._stop:
            timeout = 0.05
            if self._due:
                timeout = max(0.0, min(timeout, self._due[0][0] - time.monotonic()))
            for key, _ in self._sel.select(timeout):
                if key.fileobj is self._listener:
                    try:
                        conn, _addr = self._listener.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    self._sel.register(conn, selectors.EVENT_READ)
                    continue
                conn = key.fileobj
                try:
                    data = conn.recv(64)
                except (BlockingIOError, ConnectionError):
                    data = b""
                if not data:
                    self._sel.unregister(conn)
                    conn.close()
                    continue
                seq += 1
                heapq.heappush(self._due, (time.monotonic() + self.delay_s, seq, conn))
            now = time.monotonic()
            while self._due and self._due[0][0] <= now:
                _, _, conn = heapq.heappop(self._due)
                try:
                    conn.sendall(_REPLY)
                except OSError:
                    pass


def _prepare(params: Dict[str, Any]) -> Dict[str, Any]:
    if params["variant"] != "socket":
        return {}
    server = DelayServer(params["latency_ms"] / 1000.0).start()
    return {"port": server.port, "_server": server}


def _cleanup(context: Dict[str, Any]) -> None:
    server = context.get("_server")
    if server is not None:
        server.stop()


def io_task(i: int, latency_ms: float = 20.0, variant: str = "sleep", port: int = 0) -> int:
    if variant == "sleep":
        time.sleep(latency_ms / 1000.0)
        return 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(_REQUEST)
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(64)
            if not chunk:
                break
            reply += chunk
    return len(reply)


WORKLOAD = Workload(
    name="io",
    summary="blocking waits (sleep or loopback socket) that release the GIL",
    explanation=(
        "Each task waits on blocking I/O: time.sleep, or a request to a small "
        "loopback TCP server that answers after a fixed delay. A thread that "
        "blocks in a system call releases the GIL first, so many threads can wait "
        "at once: throughput grows with the number of threads while the CPU stays "
        "almost idle. Processes also scale but pay start-up and IPC for nothing."
    ),
    claims=("C3",),
    expect="thread pool throughput grows about linearly with workers; GIL wait near zero",
    expected_best="thread",
    task=io_task,
    params=(
        Param("latency_ms", float, 20.0, "wait per task in milliseconds", minimum=0.0, maximum=60_000.0),
        Param("variant", str, "sleep", "sleep or socket", choices=("sleep", "socket")),
    ),
    prepare=_prepare,
    cleanup=_cleanup,
    default_tasks=200,
)
