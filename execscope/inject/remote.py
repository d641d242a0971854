"""The agent loaded into a running process by ``execscope attach PID`` (CPython 3.14+).

``sys.remote_exec`` (PEP 768) makes the target run a small script at its next
safe point; that script (``BOOT``, written by ``execscope/remote.py`` into the
run's 0700 directory) imports this module from the run's own ``py/``
directory and calls ``attach``.  From then on::

    executors that exist   found through their workers, in the modules' own
                           registries (``live_executors``), or at their first
                           submit; each gets an agent Entry (a runner
                           Tracker), as in program mode
    executors made later   the classes' ``__init__`` registers them
    not watched            InterpreterPoolExecutor (a ThreadPoolExecutor whose
                           tasks are shared with subinterpreters: the timing
                           wrapper cannot travel with them), multiprocessing.Pool
                           and loky (left as they are; attach shows them from
                           outside in stacks-only mode only)
    submit / map           class-level wrappers, through the executor's Tracker
                           (thread pools: every task timed in its worker;
                           process pools: see below)
    tasks queued before    counted from the executor's own structures (the
                           work queue, the pending work items)
    telemetry              the program-mode agent's ticks, on a Unix socket in
                           the run's directory

Process pools: the workers already run and were not started with execscope's
worker initializer, so the timed call sent to them (``runner.worker.run_task``)
travels as ``WorkerCall``, which unpickles into that function by importing it
from the run's directory on first use (a worker keeps it).  What needs the
workers' own instrumentation stays unmeasured: the transfer of the call item
and its unpickling in the worker are counted in its queue wait, and worker
states come from ``/proc`` (running = on a CPU or runnable).

Detach (``Attached.detach``) restores every method wrapped and the pickler,
stops the telemetry thread and closes the socket.  It runs when the socket
breaks (execscope ended, even by SIGKILL: its end of the socket is closed by
the kernel), and the last tick is sent from ``atexit`` when the program ends
first.  Tasks in flight at detach time finish through the Tracker that
submitted them, so the program gets its results unchanged.

Standard library only, Python 3.9 syntax, like the rest of ``inject``.
"""

from __future__ import annotations

import atexit
import functools
import os
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from . import agent as _agent_module
from .agent import Agent, Entry
from .hooks import watched_methods
from ..runner import instrument, probes, worker  # noqa: F401  (imported now: never later, from elsewhere)

MARK = "_execscope_attached"  # on the concurrent.futures package: the agent attached now
_PATCHED = "_execscope_attach_originals"
_WORKER_EXPR = ("(lambda s, p: s.modules.get('execscope.runner.worker') or "
                "(s.path.insert(0, p), __import__('execscope.runner.worker'), s.path.remove(p)) and "
                "s.modules['execscope.runner.worker'])(__import__('sys'), %r).%s")


class WorkerCall:
    """``runner.worker.run_task`` / ``run_chunk`` (and the light calls) as sent to a worker that never
    imported execscope: unpickled by an expression that imports it from the
    run's ``py`` directory (only that directory, then removed from sys.path)."""

    def __init__(self, name: str, py_dir: str) -> None:
        import marshal

        self.name = name
        self.__name__ = name  # probes.call_item_args knows the timed calls by name
        self._fn = getattr(worker, name)
        # compiled once here: compiling the expression in the worker for every
        # task would cost ~40 µs a task, unmarshalling it costs ~2
        self._code = _Marshalled(marshal.dumps(compile(_WORKER_EXPR % (py_dir, name), "<execscope>", "eval")))

    def __call__(self, *args: Any) -> Any:
        return self._fn(*args)

    def __reduce__(self) -> Any:
        return eval, (self._code, {})


class _Marshalled:
    """A code object as it travels: unpickled with ``marshal.loads`` (the
    workers run the parent's interpreter, so its marshal format)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce__(self) -> Any:
        import marshal

        return marshal.loads, (self.data,)


def _proc_state(pid: int) -> str:
    """running (on a CPU or runnable) or idle, from /proc; "" if unreadable."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            data = fh.read()
    except OSError:
        return ""
    state = data[data.rfind(b")") + 2:][:1]
    return "running" if state == b"R" else "idle"


class AttachedEntry(Entry):
    """An executor found alive: tasks queued before the attach are read from
    the executor itself; process workers' states from /proc."""

    def state(self) -> Dict[str, Any]:
        data = super().state()
        executor = self.ref
        if not executor.alive:
            return data
        if self.kind == "thread":
            depth = probes.thread_queue_depth(executor)
            if depth is not None:
                sentinels = 1 if getattr(executor, "_shutdown", False) else 0
                data["queued"] = max(data.get("queued", 0), depth - sentinels)
                data["queue_source"] = "executor"
        else:
            pending = getattr(executor, "_pending_work_items", None)
            if pending is not None:
                data["in_flight"] = len(pending)
            rows = []
            running = 0
            for row in data.get("workers", ()):
                row = list(row)
                if row[4] == "starting":
                    row[4] = _proc_state(int(row[2])) or "idle"
                    running += row[4] == "running"
                rows.append(row)
            data["workers"] = rows
            data["running"] = max(data.get("running", 0), running)
        data["attached_at"] = self.agent.t_attach
        return data


class Attached(Agent):
    """The agent of an attached process: never kills the program; detaches instead."""

    def __init__(self, run_dir: str) -> None:
        self.t_attach = time.monotonic()
        self.py_dir = os.path.join(run_dir, "py")
        self.originals: List[tuple] = []  # (owner, name, original)
        self._detached = threading.Event()
        self._adopt_lock = threading.Lock()
        super().__init__(run_dir, root=True)

    # -- finding and wrapping executors -------------------------------------------

    def instrument(self) -> int:
        """Wrap the executor classes, then adopt every executor with live workers. Returns how many."""
        from concurrent.futures import process, thread

        self._patch(thread.ThreadPoolExecutor, "thread")
        self._patch(process.ProcessPoolExecutor, "process")
        found = 0
        for executor, kind in live_executors():
            if self.adopt(executor, kind, None) is not None:
                found += 1
        return found

    def adopt(self, executor: Any, kind: str, site: Optional[dict]) -> Optional[Entry]:
        """Watch ``executor`` from now on (None: already watched, or not ours to)."""
        with self._adopt_lock:
            if self.gone or _current_entry(executor) is not None:
                return None
            if any(c.__module__ == "concurrent.futures.interpreter" for c in type(executor).__mro__):
                return None  # its tasks go to subinterpreters as they are: a timing wrapper cannot go with them
            if getattr(executor, "_shutdown_thread", False) or getattr(executor, "_shutdown", False):
                return None
            original = self._original(type(executor), "submit")
            entry = self.add(executor, kind, original, site or _site_of(executor, kind), None, AttachedEntry)
            if kind == "process":
                entry.tracker.remote_calls = tuple(WorkerCall(name, self.py_dir) for name in (
                    "run_task", "run_chunk", "run_light", "run_light_chunk"))
            return entry

    def entry_of(self, executor: Any, kind: str) -> Optional[Entry]:
        """The executor's entry; one made now for an executor that had no
        workers at attach time (nothing found it then)."""
        entry = _current_entry(executor)
        if entry is None and not self.gone:
            try:
                entry = self.adopt(executor, kind, None) or _current_entry(executor)
            except Exception:
                return None  # the executor works unwatched
        return entry

    def _original(self, cls: type, name: str) -> Callable[..., Any]:
        for klass in cls.__mro__:
            saved = klass.__dict__.get(_PATCHED)
            if saved and name in saved:
                return saved[name]
        return getattr(cls, name)

    def _patch(self, cls: type, kind: str) -> None:
        if _PATCHED in cls.__dict__:
            return
        saved = {name: cls.__dict__[name] for name in ("__init__", "submit", "shutdown", "map") if name in cls.__dict__}
        agent = self
        original_init, original_submit, original_shutdown = cls.__init__, cls.submit, cls.shutdown

        @functools.wraps(original_init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            if not agent.gone:
                try:
                    from .hooks import creation_site

                    agent.adopt(self, kind, creation_site(self))
                except Exception:
                    pass  # the executor works unwatched

        submit, shutdown = watched_methods(original_submit, original_shutdown,
                                           lambda ex: agent.entry_of(ex, kind), _current_entry)

        replaced = {"__init__": __init__, "submit": submit, "shutdown": shutdown}
        if kind == "process":
            original_map = cls.map

            @functools.wraps(original_map)
            def map(self: Any, fn: Callable[..., Any], *iterables: Any, timeout: Optional[float] = None,
                    chunksize: int = 1, **kwargs: Any) -> Any:
                entry = agent.entry_of(self, kind)
                if entry is None or kwargs:
                    return original_map(self, fn, *iterables, timeout=timeout, chunksize=chunksize, **kwargs)
                return entry.map(fn, iterables, timeout, chunksize)

            replaced["map"] = map
        setattr(cls, _PATCHED, saved)
        for name, fn in replaced.items():
            self.originals.append((cls, name, saved.get(name)))
            setattr(cls, name, fn)

    # -- detaching ----------------------------------------------------------------

    def detach(self) -> None:
        """Leave the program as it was (see the module's docstring). Idempotent."""
        if self._detached.is_set():
            return
        self._detached.set()
        self.gone = True
        self._stop.set()
        for cls, name, original in reversed(self.originals):
            if original is None:
                try:
                    delattr(cls, name)
                except AttributeError:
                    pass
            else:
                setattr(cls, name, original)
        for cls in {c for c, _, _ in self.originals}:
            if _PATCHED in cls.__dict__:
                delattr(cls, _PATCHED)
        self.originals = []
        probes.untime_queue_pickling()
        try:
            atexit.unregister(self._at_exit)
        except Exception:
            pass
        try:
            self.channel.sock.close()
        except OSError:
            pass
        if _agent_module._agent is self:
            _agent_module._agent = None
        package = sys.modules.get("concurrent.futures")
        if package is not None and getattr(package, MARK, None) is self:
            delattr(package, MARK)

    def _parent_gone(self) -> None:
        self.detach()  # execscope is gone: unwrap, never touch the program

    def _loop(self) -> None:
        super()._loop()
        self.detach()  # the loop ends only when the socket broke or detach began

    def _at_exit(self) -> None:
        super()._at_exit()  # the last tick and "bye"
        self.detach()


def _current_entry(executor: Any) -> Optional[Entry]:
    from .hooks import ATTR

    entry = executor.__dict__.get(ATTR)
    if entry is None or not entry.current():
        return None
    return entry


def live_executors() -> List[tuple]:
    """(executor, kind) of every pool with live workers, from the modules' own
    registries: a thread pool's worker threads (``thread._threads_queues``)
    hold a weak reference to it as their first argument; a process pool's
    manager thread (``process._threads_wakeups``) holds one as
    ``executor_reference``.  A pool with no worker yet is adopted at its first
    submit instead (``Attached.entry_of``)."""
    from concurrent.futures import process, thread

    found: Dict[int, tuple] = {}
    for registry, kind, get in ((thread._threads_queues, "thread", lambda t: (getattr(t, "_args", ()) or (None,))[0]),
                                (process._threads_wakeups, "process", lambda t: getattr(t, "executor_reference", None))):
        for _ in range(3):
            try:
                threads = list(registry.keys())  # a WeakKeyDictionary: threads may go meanwhile
                break
            except RuntimeError:
                threads = []
        for t in threads:
            ref = get(t)
            executor = ref() if callable(ref) else None
            cls = thread.ThreadPoolExecutor if kind == "thread" else process.ProcessPoolExecutor
            if isinstance(executor, cls):
                found[id(executor)] = (executor, kind)
    return list(found.values())


def _site_of(executor: Any, kind: str) -> dict:
    """Where an executor found alive came from: its threads' name prefix, or its kind."""
    prefix = getattr(executor, "_thread_name_prefix", "") or ""
    name = "%s %s" % ("thread pool" if kind == "thread" else "process pool", prefix or "#%x" % id(executor))
    return {"at": "%s (alive at attach)" % name.strip(), "function": "?", "via": None}


def attach(run_dir: str) -> None:
    """Called by the boot script in the target: detach a previous agent, start ours."""
    import concurrent.futures as package

    previous = getattr(package, MARK, None)
    if previous is not None:
        previous.detach()
    if _agent_module._agent is not None:
        raise RuntimeError("the program already runs under execscope's instrumentation")
    me = Attached(run_dir)
    _agent_module._agent = me
    setattr(package, MARK, me)
    try:
        found = me.instrument()
    except BaseException:
        me.detach()
        raise
    me._send("attached", t=time.monotonic(), t_attach=me.t_attach, executors=found)
