"""What both GIL samplers (py-spy's, sampling/gil.py, and the 3.15 flags',
sampling/gilflags.py) share: a daemon thread that samples while the run
goes on, the latest view the run reads with ``current()``, and at the run's
end one wait, at most ``FINAL_WAIT_S``, for the rounds in progress, so that
the report covers the whole run (the only time the session waits for a
sampler).  A subclass writes ``_sample`` (the thread's work, until
``_flush`` is set), ``_whole_run_view`` and ``_kill_all``."""

from __future__ import annotations

import threading
from typing import Optional

from ..model import GilView
from .targets import SamplerTargets

FINAL_WAIT_S = 1.5
STOP_GRACE_S = 1.5  # from SIGINT to exit (a helper stops at its next sample)


class BackgroundSampler:
    THREAD_NAME = "execscope-sampler"

    def __init__(self, run: SamplerTargets, waiting: str) -> None:
        self.run = run  # the run, as the sampler may see it
        self._lock = threading.Lock()
        self._view = GilView(source="unavailable", reason=waiting)
        self._final: Optional[GilView] = None
        self._final_ready = threading.Event()
        self._final_waited = False
        self._flush = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # -- the run's side ------------------------------------------------------------

    def start(self) -> "BackgroundSampler":
        self._thread = threading.Thread(target=self._run, name=self.THREAD_NAME, daemon=True)
        self._thread.start()
        return self

    def current(self) -> GilView:
        if not self._final_waited and self.run.run_over():
            self._final_waited = True
            self._flush.set()
            self._final_ready.wait(FINAL_WAIT_S)
        with self._lock:
            return self._final if self._final is not None else self._view

    def stop(self) -> None:
        self._flush.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=STOP_GRACE_S + 3.0)
        self._kill_all()
        self._cleanup()

    # -- the sampling thread -------------------------------------------------------

    def _run(self) -> None:
        problem = ""
        try:
            self._sample()
        except Exception as exc:  # the run goes on without GIL figures
            problem = "the %s failed: %s" % (self.DESCRIPTION, exc)
        finally:
            self._kill_all()
            view = self._whole_run_view(problem)
            with self._lock:
                self._final = self._view = view
            self._final_ready.set()

    DESCRIPTION = "GIL sampler"

    def _sample(self) -> None:
        raise NotImplementedError

    def _whole_run_view(self, problem: str) -> GilView:
        raise NotImplementedError

    def _kill_all(self) -> None:
        raise NotImplementedError

    def _cleanup(self) -> None:
        """What stop() removes once the thread is gone (temporary files)."""
