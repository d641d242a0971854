"""Runs behind the screens: a live run and the registry that ends them all.

    UI thread                         run thread (one per LiveRun)
    ─────────                         ───────────────────────────
    LiveRun.begin() ────────────────► Session(config)   (UsageError → .error)
                                      session.start(); session.wait()
    session ticker thread ──listener─► .latest / .history, notify() once per
                                      batch (the UI takes the newest, so a
                                      slow redraw skips frames, never queues)
    LiveRun.stop() ─ stop thread ───► session.stop()    (kills the tree)
                                      session.close()   (always, in the run thread)
                                      .record = session.record() (the frozen RunRecord)

Nothing here blocks the UI thread: creating a Session probes the interpreter,
stopping and closing can take seconds.  The Registry remembers every run so
that quitting (q, Ctrl-C, SIGHUP) can stop and close them all, and nothing of
a run outlives the app.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Deque, List, Optional

from execscope.errors import UsageError
from execscope.model import RunConfig, RunRecord, Snapshot

HISTORY = 600  # snapshots kept for the sparklines (60 s at 10 Hz)

SessionFactory = Callable[..., Any]


def default_session_factory(config: RunConfig, listener: Callable[[Snapshot], None],
                            refresh_hz: float) -> Any:
    from execscope.sampling import gil_factory
    from execscope.session import Session

    return Session(config, listener=listener, gil_sampler_factory=gil_factory(config),
                   refresh_hz=refresh_hz)


class Registry:
    """Every run the app started, so that all of them can be ended at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: List["LiveRun"] = []

    def add(self, run: "LiveRun") -> None:
        with self._lock:
            self._runs.append(run)

    def discard(self, run: "LiveRun") -> None:
        with self._lock:
            if run in self._runs:
                self._runs.remove(run)

    def runs(self) -> List["LiveRun"]:
        with self._lock:
            return list(self._runs)

    def stop_all(self) -> None:
        """Ask every run to stop (returns at once)."""
        for run in self.runs():
            run.stop()

    def close_all(self, timeout: float = 15.0) -> None:
        """Stop every run and wait until each session is closed."""
        runs = self.runs()
        for run in runs:
            run.stop()
        for run in runs:
            run.join(timeout)


class LiveRun:
    """One run, started and ended off the UI thread; the UI reads ``latest``."""

    def __init__(self, config: RunConfig, notify: Callable[[], None], *,
                 factory: SessionFactory = default_session_factory, refresh_hz: float = 10.0,
                 registry: Optional[Registry] = None) -> None:
        self.config = config
        self.notify = notify
        self.factory = factory
        self.refresh_hz = refresh_hz
        self.registry = registry
        self.session: Any = None
        self.latest: Optional[Snapshot] = None
        self.record: Optional[RunRecord] = None  # once the run is closed
        self.history: Deque[Snapshot] = deque(maxlen=HISTORY)
        self.error: Optional[str] = None  # why the run could not start
        self.closed = threading.Event()
        self._stop_requested = threading.Event()
        self._posted = False
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    # -- the run thread ------------------------------------------------------------

    def begin(self) -> "LiveRun":
        if self.registry is not None:
            self.registry.add(self)
        self._thread = threading.Thread(target=self._lifecycle, name="execscope-tui-run", daemon=True)
        self._thread.start()
        return self

    def _lifecycle(self) -> None:
        session = None
        launched = False
        try:
            session = self.factory(self.config, self._listener, self.refresh_hz)
            with self._lock:
                self.session = session
                stop_first = self._stop_requested.is_set()
            if not stop_first:
                launched = True
                session.start()
                if self._stop_requested.is_set():
                    session.stop()
                session.wait()
                usage = session.usage_error
                if usage:
                    self.error = usage
        except UsageError as exc:
            self.error = str(exc)
        except Exception as exc:  # a workload or launch failure must not take the UI down
            self.error = "could not run %s: %s" % (self.config.workload, exc)
        finally:
            if session is not None and launched:
                try:
                    session.close()
                    self.record = session.record()
                except Exception as exc:
                    self.error = self.error or "closing the run failed: %s" % exc
            self.closed.set()
            if self.registry is not None:
                self.registry.discard(self)
            self._post()

    def _listener(self, snap: Snapshot) -> None:
        self.latest = snap
        self.history.append(snap)
        self._post()

    def _post(self) -> None:
        if not self._posted:
            self._posted = True
            try:
                self.notify()
            except Exception:
                pass

    # -- the UI thread ---------------------------------------------------------------

    def take(self) -> Optional[Snapshot]:
        """The newest snapshot; re-arms the notification (clear first, then read)."""
        self._posted = False
        return self.latest

    @property
    def finished(self) -> bool:
        snap = self.latest
        return self.closed.is_set() or (snap is not None and snap.finished)

    def stop(self) -> None:
        """End the run now (returns at once; the run thread closes the session)."""
        if self._stop_requested.is_set():
            return
        self._stop_requested.set()
        with self._lock:
            session = self.session
        if session is not None and not self.closed.is_set():
            threading.Thread(target=self._stop_session, args=(session,),
                             name="execscope-tui-stop", daemon=True).start()

    @staticmethod
    def _stop_session(session: Any) -> None:
        try:
            session.stop()
        except Exception:
            pass

    def join(self, timeout: Optional[float] = None) -> bool:
        return self.closed.wait(timeout) if self._thread is not None else True
