"""Ask an interpreter what it is before trusting it with a run (``--python``)."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import threading
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

from .errors import UsageError

MIN_VERSION = (3, 9)

# What ``make pythons`` (execscope/pythons.py) puts into the cache, by name: the
# executable's path inside it.
PYTHONS = {
    "3.14": "debian/usr/bin/python3.14",
    "3.15": "debian/usr/bin/python3.15",
    "3.13t": "3.13t/bin/python3.13t",
}


def pythons_cache() -> str:
    """Where ``make pythons`` keeps its interpreters: ``$EXECSCOPE_PYTHONS``,
    else ``~/.cache/execscope/pythons``."""
    return os.environ.get("EXECSCOPE_PYTHONS") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "execscope", "pythons")


def pythons_status_path() -> str:
    return os.path.join(pythons_cache(), "status.json")


def cached_python(name: str) -> Tuple[Optional[str], str]:
    """(path, "") of the cached interpreter ``name`` (a key of PYTHONS), or
    (None, why it is not there)."""
    path = os.path.join(pythons_cache(), PYTHONS[name])
    if os.access(path, os.X_OK):
        return path, ""
    try:
        with open(pythons_status_path()) as fh:
            entry = json.load(fh).get(name) or {}
    except (OSError, ValueError):
        entry = {}
    if entry.get("reason"):
        return None, "CPython %s could not be fetched by make pythons: %s" % (name, entry["reason"])
    return None, "CPython %s is not in %s: run make pythons" % (name, pythons_cache())

_PROBE = r"""
import json, multiprocessing, sys, sysconfig
gil = getattr(sys, "_is_gil_enabled", None)
print(json.dumps({
    "executable": sys.executable,
    "version": list(sys.version_info[:3]),
    "implementation": sys.implementation.name,
    "start_methods": multiprocessing.get_all_start_methods(),
    "default_start_method": multiprocessing.get_start_method(allow_none=False),
    "gil_enabled": bool(gil()) if gil else True,
    "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "switch_interval_s": sys.getswitchinterval(),
}))
"""


def probe(python: Optional[str] = None) -> Dict:
    """Facts about ``python`` (default: this interpreter). UsageError if it is not one.

    The probe runs isolated (``-I``), which ignores ``PYTHON_GIL``; runs
    inherit the environment, so a free-threaded build asked for its GIL back
    (``PYTHON_GIL=1``) is reported with the GIL on, as the run will have it."""
    path = sys.executable if python is None else _which(python)
    if path is None:  # not remembered: it may appear later
        raise UsageError("--python %s: no such executable" % python)
    info, why_not = _probe(path)
    if info is None:
        raise UsageError(why_not)
    forced = os.environ.get("PYTHON_GIL")
    if info["free_threaded_build"] and forced in ("0", "1"):
        info = dict(info, gil_enabled=forced == "1")
    return info


@lru_cache(maxsize=64)
def _probe(path: str) -> Tuple[Optional[Dict], str]:
    """(facts, "") or (None, why not) for an executable's path: a failure is
    remembered too, so that discovery does not ask a non-interpreter again at
    every call.  Facts are also kept on disk (``_ProbeCache``): the TUI's
    first frame waits for the tour's steps, which probe every interpreter
    found here, and starting each one costs tens of milliseconds of CPU."""
    key = _ProbeCache.key(path)
    known = _ProbeCache.get(key)
    if known is not None:
        return (None, known["error"]) if "error" in known else (known, "")
    try:
        info = _ask(path)
    except UsageError as exc:
        if not isinstance(exc, _CannotRun):  # a timeout may pass: ask again next time
            _ProbeCache.put(key, {"error": str(exc)})
        return None, str(exc)
    _ProbeCache.put(key, info)
    return info, ""


class _CannotRun(UsageError):
    """The executable could not be started or did not answer in time."""


class _ProbeCache:
    """Probe answers on disk (``<cache>/execscope/probes.json``), keyed by the
    executable's real path and what a reinstall changes (inode, size, mtime):
    an interpreter replaced in place is asked again.  A refusal is kept as
    ``{"error": why}``."""

    VERSION = 2

    @staticmethod
    def path() -> str:
        return os.path.join(os.path.dirname(pythons_cache()), "probes.json")

    @staticmethod
    def key(path: str) -> Optional[str]:
        try:
            real = os.path.realpath(path)
            st = os.stat(real)
        except OSError:
            return None
        return "%d|%s|%s|%d|%d|%d" % (_ProbeCache.VERSION, path, real, st.st_ino, st.st_size, st.st_mtime_ns)

    @classmethod
    def _load(cls) -> Dict[str, Dict]:
        try:
            with open(cls.path()) as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @classmethod
    def get(cls, key: Optional[str]) -> Optional[Dict]:
        if key is None:
            return None
        info = cls._load().get(key)
        return dict(info) if isinstance(info, dict) else None

    @classmethod
    def put(cls, key: Optional[str], info: Dict) -> None:
        """Add one answer (best effort: an unwritable cache only costs time)."""
        if key is None:
            return
        with _CACHE_LOCK:
            data = cls._load()
            data[key] = info
            target = cls.path()
            tmp = "%s.%d.%d.tmp" % (target, os.getpid(), threading.get_ident())
            try:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(tmp, "w") as fh:
                    json.dump(data, fh)
                os.replace(tmp, target)
            except OSError:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass


_CACHE_LOCK = threading.Lock()


def _ask(path: str) -> Dict:
    try:
        out = subprocess.run(
            [path, "-I", "-c", _PROBE],
            capture_output=True,
            timeout=30,
            text=True,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise _CannotRun("--python %s: cannot run it (%s)" % (path, exc.__class__.__name__)) from None
    if out.returncode != 0:
        raise UsageError("--python %s is not a Python 3 interpreter execscope can use" % path)
    try:
        info = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise UsageError("--python %s is not a Python interpreter" % path) from None
    if info.get("implementation") != "cpython":
        raise UsageError("--python %s is %s; execscope needs CPython" % (path, info.get("implementation")))
    if tuple(info["version"][:2]) < MIN_VERSION:
        raise UsageError(
            "--python %s is Python %s; the runner needs %d.%d or newer"
            % (path, ".".join(map(str, info["version"])), *MIN_VERSION)
        )
    info["path"] = path
    return info


def _probe_or_none(path: str) -> Optional[Dict]:
    try:
        return probe(path)
    except UsageError:
        return None


def _which(python: str) -> Optional[str]:
    if os.sep in python:
        return python if os.path.isfile(python) and os.access(python, os.X_OK) else None
    import shutil

    return shutil.which(python)


def _is_script(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return True


def discover() -> List[str]:
    """CPython 3.9+ interpreters found on this machine (pyenv, ``make
    pythons``'s cache, /usr/bin, /usr/local/bin and the directories on PATH,
    where a self-built 3.13t usually lives), newest first."""
    return [info["path"] for info in discovered()]


def discovered() -> List[Dict]:
    """``probe`` facts of each interpreter ``discover`` finds, in its order."""
    candidates = set()
    roots = [os.path.expanduser("~/.pyenv/versions"), os.environ.get("PYENV_ROOT", "") + "/versions"]
    for root in roots:
        for path in glob.glob(os.path.join(root, "3.*", "bin", "python3")):
            candidates.add(os.path.realpath(path))
    for relative in PYTHONS.values():
        path = os.path.join(pythons_cache(), relative)
        if os.access(path, os.X_OK):
            candidates.add(path)
    dirs = ["/usr/bin", "/usr/local/bin"] + [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    for directory in dict.fromkeys(dirs):
        for path in glob.glob(os.path.join(glob.escape(directory), "python3.*")):
            # python3.13 or python3.13t, not python3.13-config; and not a
            # script (a pyenv shim): running one only to find who it runs is slow
            if os.path.basename(path).replace("python", "").replace(".", "").rstrip("t").isdigit() \
                    and not _is_script(path):
                candidates.add(os.path.realpath(path))
    found = []  # (path, the interpreter it really runs)
    paths = sorted(candidates, reverse=True)
    # each probe starts an interpreter and waits for it: side by side, the
    # whole discovery takes about as long as the slowest one
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(paths))),
                            thread_name_prefix="execscope-probe") as pool:
        answers = list(pool.map(_probe_or_none, paths))
    for path, info in zip(paths, answers):
        if info is None:
            continue
        found.append((path, os.path.realpath(info.get("executable") or path), info))
    # a launcher that runs an interpreter found already: keep that one
    direct = {real for path, real, _ in found if path == real}
    usable, seen = [], set()
    for path, real, info in found:
        if real in seen or (path != real and real in direct):
            continue
        seen.add(real)
        usable.append(info)
    return usable
