"""One agent per process of an instrumented program: its executors and their telemetry.

    program process                                      execscope process
    ┌─────────────────────────────────────────────┐      ┌─────────────────────┐
    │ hooks: each executor created ─► Entry       │ Unix │ program.py: one     │
    │   (a runner Tracker + where it was made)    │ sock │ reader per process, │
    │ "execscope-telemetry" thread, every 0.1 s:  │ ───► │ merged into the     │
    │   poll every Entry ─► one tick              │      │ session's RunState  │
    └─────────────────────────────────────────────┘      └─────────────────────┘

The runner avoids a telemetry thread (it would sit in the GIL contention it
measures); in a program we did not write there is no loop of ours to tick
from, so one small daemon thread does it.  It is named ``execscope-...`` so
the fork detector does not count it among the program's threads.

Messages (``protocol`` lines, ``k`` = kind): ``hello`` (once: pid, whether
this is the program's own process, interpreter, machine), ``tick`` (every
0.1 s: one entry per live executor, each the runner's tick fields plus its
identity), ``retired`` (an executor that was shut down and drained: its last
entry, sent once), ``error`` / ``exit`` (as the runner's, with the executor
id), ``bye`` (at interpreter exit, after the final tick).

Lifecycle: the socket's peer is the execscope process.  When a send fails it
is gone: the program's own process then kills the program's process tree,
as the runner would (nothing of a run may outlive execscope); any other
process just stops reporting.  After ``fork`` the child forgets the parent's
agent and executors (``os.register_at_fork``) and starts its own agent if it
creates an executor.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import os
import socket
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple

from .. import protocol
from ..families import uses_processes
from ..runner import lifecycle, probes, slots

if TYPE_CHECKING:
    from ..runner import instrument
from ..runner.channel import Channel, ParentGone, interpreter_info
from . import ENV, SOCKET_NAME

TICK_S = 0.1
THREAD_NAME = "execscope-telemetry"
_FLAGS = getattr(socket, "MSG_NOSIGNAL", 0)

_agent: Optional["Agent"] = None
_lock = threading.Lock()
_failed = False  # this process could not connect: leave its executors alone


class ChannelLost(Exception):
    """The program closed our socket (closerange, say): stop reporting, quietly."""


class SocketChannel(Channel):
    """The runner's Channel over a stream socket: never SIGPIPE the program,
    and never write into a descriptor the program has reused for its own."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock.fileno(), 0)
        self.sock = sock
        self._inode = os.fstat(sock.fileno()).st_ino

    def send(self, msg_kind: str, /, **fields: Any) -> None:
        try:
            if os.fstat(self.fd).st_ino != self._inode:
                raise ChannelLost()
            self.sock.sendall(protocol.encode(msg_kind, **fields), _FLAGS)
        except (BrokenPipeError, ConnectionResetError):
            raise ParentGone() from None  # the execscope process is gone
        except OSError:
            raise ChannelLost() from None


def start(run_dir: str, root: bool = False) -> Optional["Agent"]:
    """This process's agent, connecting it on first use (None if it cannot)."""
    global _agent, _failed
    if _agent is not None or _failed:
        return _agent
    with _lock:
        if _agent is None and not _failed:
            try:
                _agent = Agent(run_dir, root)
            except (OSError, ParentGone, ChannelLost):
                _failed = True  # no execscope to report to: leave this process's executors alone
    return _agent


def _current() -> Optional["Agent"]:
    if _agent is not None:
        return _agent
    run_dir = os.environ.get(ENV)
    return start(run_dir) if run_dir and os.path.isdir(run_dir) else None


def _forget_after_fork() -> None:
    """In a forked child: the parent's agent, thread and executors are not ours."""
    global _agent, _lock, _failed
    old, _agent, _failed = _agent, None, False
    _lock = threading.Lock()
    if old is not None:
        old.abandon()
        if old._by_number:
            probes.time_queue_pickling()  # the parent's pools are not this process's


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def plan_process_pool(mp_context: Any, initializer: Any, initargs: tuple,
                      kwargs: Dict[str, Any]) -> Optional[Tuple[str, Callable[..., None], tuple]]:
    """(slot directory, initializer, initargs) that give a new process pool's
    workers the runner's worker instrumentation, calling the program's own
    initializer from it; None to leave the pool as it is."""
    agent = _current()
    if agent is None or (initializer is not None and not callable(initializer)):
        return None
    from ..runner import worker  # only now: importing it costs a program without pools nothing

    method = _start_method(mp_context, kwargs)
    slot_dir = agent.new_slot_dir()
    user_init = functools.partial(initializer, *initargs) if initializer is not None else None
    return slot_dir, worker.init_worker, (slot_dir, os.getpid(), method, user_init)


def _start_method(mp_context: Any, kwargs: Dict[str, Any]) -> str:
    if mp_context is not None:
        return mp_context.get_start_method()
    import multiprocessing

    if kwargs.get("max_tasks_per_child") is not None:
        return "spawn"  # what CPython picks for max_tasks_per_child without a context
    return multiprocessing.get_start_method()


def register(executor: Any, kind: str, original_submit: Callable[..., Any], site: dict,
             slot_dir: Optional[str]) -> None:
    agent = _current()
    if agent is None:
        return
    try:
        agent.add(executor, kind, original_submit, site, slot_dir)
    except Exception as exc:  # the executor must work even if we cannot time it
        sys.stderr.write("execscope: not watching an executor: %s: %s\n" % (type(exc).__name__, exc))


class ExecutorRef:
    """The executor as its Tracker sees it: held weakly (a program that drops an
    executor without shutting it down must see it collected as usual), with
    the class's own submit rather than the patched one."""

    __slots__ = ("_ref", "_submit")

    def __init__(self, executor: Any, submit: Optional[Callable[..., Any]]) -> None:
        import weakref

        self._ref = weakref.ref(executor)
        self._submit = submit

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        executor = self._ref()
        if executor is None:
            raise RuntimeError("cannot schedule new futures: the executor was garbage-collected")
        return self._submit(executor, fn, *args, **kwargs)

    @property
    def alive(self) -> bool:
        return self._ref() is not None

    def __getattr__(self, name: str) -> Any:
        executor = self._ref()
        if executor is None:
            raise AttributeError(name)
        return getattr(executor, name)


class Entry:
    """One executor of this process: its Tracker and what it is."""

    def __init__(self, agent: "Agent", executor_id: str, kind: str, ref: ExecutorRef,
                 tracker: instrument.Tracker, site: dict, start_method: Optional[str],
                 table: Optional[slots.SlotTable]) -> None:
        self.agent = agent
        self.id = executor_id
        self.kind = kind
        self.ref = ref
        self.tracker = tracker
        self.table = table
        self.shutting_down = False
        self.shut = False
        self.mode = "submit"
        self.chunksize: Optional[int] = None
        self.map_items = 0
        self.threads_at_first_submit: Optional[List[str]] = None
        self.meta = {
            "id": executor_id,
            "pid": os.getpid(),
            "created_at": site["at"],
            "function": site["function"],
            "via": site["via"],
            "kind": kind,
            "start_method": start_method,
            "max_workers": probes.max_workers(ref),
            "default_max_workers": probes.default_max_workers(kind),
            "t_created": time.monotonic(),
        }
        missing = getattr(ref, "_execscope_unavailable", None)  # what the family cannot time (interp_hooks)
        if missing:
            self.meta["unavailable"] = missing

    def current(self) -> bool:
        return self.agent is _agent and not self.agent.gone

    def _first_submit(self) -> None:
        # Threads alive when a process pool starts (forks) its workers (C11).
        self.threads_at_first_submit = [t.name for t in threading.enumerate()]

    def submit(self, fn: Callable[..., Any], args: tuple, kwargs: Dict[str, Any]) -> Any:
        if self.threads_at_first_submit is None:
            self._first_submit()
        return self.tracker._submit(fn, args, kwargs, 1, False)  # a refused submit is not counted

    def map(self, fn: Callable[..., Any], iterables: Tuple[Iterable[Any], ...], timeout: Optional[float],
            chunksize: int) -> Any:
        """ProcessPoolExecutor.map: submit every chunk now, yield results in order."""
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        end = time.monotonic() + timeout if timeout is not None else None
        if len(iterables) == 1:
            items, call = list(iterables[0]), fn
        else:
            items, call = list(zip(*iterables)), functools.partial(star_call, fn)
        if self.threads_at_first_submit is None:
            self._first_submit()
        self.mode, self.chunksize = "map", chunksize
        self.map_items += len(items)
        futures = self.tracker.map_chunks(call, items, chunksize, {})
        return _ordered_results(futures, end, chunksize > 1)

    def state(self) -> Dict[str, Any]:
        data = self.tracker.poll()
        data.update(self.meta)
        data["totals"] = self.tracker.totals()
        data["shutdown"] = self.shutting_down
        data["broken"] = bool(probes.pool_broken(self.ref)) if self.ref.alive else False
        data["mode"] = self.mode
        data["chunksize"] = self.chunksize
        data["map_items"] = self.map_items
        data["threads_at_first_submit"] = self.threads_at_first_submit
        data["own_cost"] = self.tracker.own_cost()
        return data

    def finished(self) -> bool:
        """Shut down (or collected) and every submitted task has ended."""
        if not (self.shut or not self.ref.alive):
            return False
        return self.tracker.finished >= self.tracker.submitted

    def close(self) -> None:
        if self.table is not None:
            self.table.close()


def star_call(fn: Callable[..., Any], args: tuple) -> Any:
    """``map`` over several iterables: one item is a tuple of arguments."""
    return fn(*args)


def _ordered_results(futures: List[Any], end: Optional[float], chunked: bool) -> Any:
    """Executor.map's result iterator (results in order, the timeout counted
    from the call, the rest cancelled if the caller stops early)."""
    try:
        futures.reverse()
        while futures:
            future = futures.pop()
            value = future.result() if end is None else future.result(end - time.monotonic())
            if chunked:
                yield from value
            else:
                yield value
    finally:
        for future in futures:
            future.cancel()


class Agent:
    def __init__(self, run_dir: str, root: bool) -> None:
        self.run_dir = run_dir
        self.root = root
        self.pid = os.getpid()
        self.gone = False
        self.entries: Dict[str, Entry] = {}
        self._by_number: Dict[int, Entry] = {}  # process pools, by executor number
        self._ids = itertools.count(1)
        self._slot_ids = itertools.count(1)
        self._stop = threading.Event()
        self._send_lock = threading.Lock()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(os.path.join(run_dir, SOCKET_NAME))
        except OSError:
            sock.close()
            raise
        try:
            self.channel = SocketChannel(sock)
            self._hello(root)
        except BaseException:
            sock.close()
            raise
        self.thread = threading.Thread(target=self._loop, name=THREAD_NAME, daemon=True)
        self.thread.start()
        atexit.register(self._at_exit)

    def _hello(self, root: bool) -> None:
        hello: Dict[str, Any] = {"pid": self.pid, "ppid": os.getppid(), "root": root, "t": time.monotonic(),
                                 "interpreter": interpreter_info()}
        if root:
            from ..machine import cpu_info

            hello["pgid"] = os.getpgid(0)
            hello["machine"] = cpu_info()
        self._send("hello", **hello)

    # -- executors ------------------------------------------------------------

    def new_slot_dir(self) -> str:
        path = os.path.join(self.run_dir, "pool-%d-%d" % (self.pid, next(self._slot_ids)))
        os.mkdir(path, 0o700)
        slots.create(path)
        return path

    def add(self, executor: Any, kind: str, original_submit: Optional[Callable[..., Any]], site: dict,
            slot_dir: Optional[str], entry_cls: Optional[type] = None) -> "Entry":
        from ..runner import instrument
        from .hooks import ATTR

        ref = ExecutorRef(executor, original_submit)
        table = slots.SlotTable(slot_dir) if slot_dir else None
        start_method = getattr(executor, "start_method", None)
        if kind == "process":
            context = getattr(executor, "_mp_context", None)
            start_method = context.get_start_method() if context is not None else None
        n = next(self._ids)
        tracker = instrument.Tracker(ref, kind, table, deliver_results=True, first_id=n * protocol.ID_SPAN)
        entry = (entry_cls or Entry)(self, "%d:%d" % (self.pid, n), kind, ref, tracker, site, start_method, table)
        executor.__dict__[ATTR] = entry
        self.entries[entry.id] = entry
        if uses_processes(kind):
            self._by_number[n] = entry
            # The Tracker hooked the (per-process) pickling timer to itself:
            # route each call item to the tracker whose task it is instead.
            probes.time_queue_pickling(on_dumps=self._pickled)
        return entry

    def _pickled(self, obj: Any, seconds: float, nbytes: int) -> None:
        """A feeder thread pickled a call item (probes.time_queue_pickling)."""
        args = probes.call_item_args(obj)
        if args and type(args[0]) is int:
            entry = self._by_number.get(args[0] // protocol.ID_SPAN)
            if entry is not None:
                entry.tracker._call_pickled(obj, seconds, nbytes)

    # -- telemetry --------------------------------------------------------------

    def _send(self, msg_kind: str, **fields: Any) -> None:
        with self._send_lock:
            self.channel.send(msg_kind, **fields)

    def tick(self, final: bool = False) -> None:
        executors = []
        for entry in list(self.entries.values()):
            done = entry.finished()  # before the poll: a last poll then sees every task
            data = entry.state()
            for error in entry.tracker.drain_errors():
                self._send("error", executor=entry.id, **error)
            if uses_processes(entry.kind) and entry.ref.alive:
                for pid, code in entry.tracker.new_exits():
                    self._send("exit", executor=entry.id, pid=pid, exitcode=code, t=time.monotonic())
            if done:
                self._send("retired", t=time.monotonic(), executor=data)
                del self.entries[entry.id]
                self._by_number.pop(int(entry.id.split(":")[1]), None)
                entry.close()
            else:
                executors.append(data)
        self._send("tick", t=time.monotonic(), pid=self.pid, threads=threading.active_count(),
                   executors=executors, final=final)

    def _loop(self) -> None:
        while not self._stop.wait(TICK_S):
            try:
                self.tick()
            except ParentGone:
                self._parent_gone()
                return
            except ChannelLost:
                self.gone = True
                return
            except Exception:  # a bad poll must not end the heartbeat
                continue

    def _parent_gone(self) -> None:
        self.gone = True
        if self.root:
            # execscope is gone: nothing of its run may outlive it.
            lifecycle.kill_tree_and_exit()

    def _at_exit(self) -> None:
        if self.gone or os.getpid() != self.pid:
            return
        self._stop.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(1.0)
        try:
            self.tick(final=True)
            self._send("bye", t=time.monotonic(), pid=self.pid)
        except Exception:  # ParentGone, ChannelLost: nobody to tell
            pass
        self.gone = True

    def abandon(self) -> None:
        """In a forked child: drop the parent's connection without touching it."""
        self.gone = True
        try:
            self.channel.sock.close()  # closes this process's copy of the fd only
        except OSError:
            pass
