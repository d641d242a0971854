"""Regenerate the README screenshots: ``python tests/tui/make_screenshots.py DIR [NAME...]`` (``make screenshots``).

Every picture of a run is taken from a REAL run on this machine: the app is
started exactly as ``execscope run`` starts it (its default session factory,
the GIL sampler included when it is available), the script waits until the
run shows what the picture is about (a few seconds of running, the expected
alert, the deadlock), and then saves the screen.  The numbers therefore
differ from one regeneration to the next, and from one machine to another;
the tests' snapshots (``tests/tui``) use scripted data for determinism.

The one exception is the 128-core picture: this project has no such machine,
so it is drawn from scripted data (``tui_fake``), and both its title and a
line in the picture say so.

A scene whose condition is not met in its time limit is still saved, with a
warning, and the script exits 1 so that a picture that does not show what
its title says is noticed.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, List, Optional, Tuple

from execscope.model import RunConfig, Snapshot
from execscope.tui.app import ExecscopeApp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))  # the scripted run builds on tests/fixtures

from tui_fake import make_app, settle, settle_compare  # noqa: E402
PIPELINE = os.path.join("tests", "tui", "programs", "pipeline.py")
SPIN = os.path.join("tests", "programs", "spin_pool.py")
LIMIT_S = 15.0  # the most a scene waits for its condition
PAINT_S = 0.5  # longer than one frame of the live screen (MAX_FPS)

Ready = Callable[[Snapshot], bool]


@dataclass
class Scene:
    name: str
    title: str
    size: Tuple[int, int]
    app: Callable[[], ExecscopeApp]
    drive: Callable[..., Awaitable[Optional[str]]]  # waits; returns a warning when the picture is not what it should be
    cleanup: Optional[Callable[[], None]] = None
    measured: bool = True  # a real run: the title says where it ran


# -- conditions --------------------------------------------------------------------

def ran(seconds: float) -> Ready:
    """Running for ``seconds`` (or already over)."""
    return lambda snap: snap.finished or snap.t_s >= seconds


def alerted(kind: str, seconds: float = 3.0) -> Ready:
    """The detector ``kind`` has raised its alert, and the run has gone on for ``seconds``."""
    return lambda snap: snap.t_s >= seconds and any(a.kind == kind for a in snap.active_alerts)


def program_busy(snap: Snapshot) -> bool:
    """Both executors of the pipeline alive and working, with a few lines of output."""
    live = [ex for ex in snap.executors if ex.state == "live" and ex.counts.finished]
    lines = len(snap.program.output_tail) if snap.program is not None else 0
    return len(live) >= 2 and lines >= 3 and snap.t_s >= 4.0 and all(ex.bound for ex in live)


async def paint(pilot) -> None:
    await asyncio.sleep(PAINT_S)
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def wait_for(pilot, ready: Ready, limit_s: float = LIMIT_S) -> Optional[str]:
    """Poll the app's current run until ``ready`` holds; a warning if it never did."""
    app = pilot.app
    deadline = time.monotonic() + limit_s
    snap = None
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        await pilot.pause()
        run = app.current_run
        if run is not None and run.error:
            await paint(pilot)
            return "the run failed to start: %s" % run.error
        snap = run.latest if run is not None else None
        if snap is not None and ready(snap):
            await paint(pilot)
            await _past_empty_cpu_reading(pilot)
            return None
    await paint(pilot)
    return "its condition did not hold within %gs (last status %s at %.1fs)" % (
        limit_s, snap.status if snap else "none", snap.t_s if snap else 0.0)


async def _past_empty_cpu_reading(pilot, limit_s: float = 3.0) -> None:
    """A busy run whose newest CPU reading is all zeros caught a sampler hiccup
    (seen under heavy machine load): wait for the next real reading."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        run = pilot.app.current_run
        snap = run.latest if run is not None else None
        if snap is None or snap.finished or snap.cpu.total_percent > 0:
            return
        await asyncio.sleep(0.1)
        await paint(pilot)


def live(ready: Ready, limit_s: float = LIMIT_S):
    async def drive(pilot) -> Optional[str]:
        return await wait_for(pilot, ready, limit_s)
    return drive


async def _compare(pilot) -> Optional[str]:
    warning = await wait_for(pilot, lambda snap: snap.finished)  # the live run first: no CPU contest
    await pilot.press("c")
    await pilot.pause()
    await settle_compare(pilot, timeout=60.0)
    await paint(pilot)
    run = getattr(pilot.app.screen, "run", None)
    if run is None or not all(row.done for row in run.rows):
        return "the comparison did not finish"
    return warning


async def _picker(pilot) -> Optional[str]:
    await pilot.pause()
    await pilot.press("p")
    await pilot.pause()
    await pilot.press("down", "down", "down", "down")
    await paint(pilot)
    return None


async def _scripted_128(pilot) -> Optional[str]:
    await settle(pilot)
    pilot.app.screen.set_notice("SCRIPTED DATA: a 128-core machine drawn from the test script "
                                "(tests/tui/tui_fake.py), not a measurement", info=True)
    await paint(pilot)
    return None


# -- the attached program ----------------------------------------------------------

class Spinner:
    """A thread-pool program to attach to, started for the attach scene and ended after it."""

    def __init__(self) -> None:
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> int:
        self.proc = subprocess.Popen([sys.executable, SPIN, "3"], cwd=ROOT, stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        assert self.proc.stdout is not None
        self.proc.stdout.readline()  # "ready": every worker computes
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()


SPINNER = Spinner()


async def _step_judged(pilot, limit_s: float = 120.0) -> Optional[str]:
    """A comparative tour step: wait until every row ran and the step has its verdict."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        screen = pilot.app.screen
        walk = getattr(screen, "walk", None)
        if walk is not None and walk.done and walk.step.claims[0] in screen.verdicts:
            await paint(pilot)
            return None
        await asyncio.sleep(0.2)
    return "the step was not judged within %gs" % limit_s


def tour_of(*claims: str) -> Callable[[], ExecscopeApp]:
    """The guided tour on the given claims only, real sessions."""
    from execscope.tui.tour_steps import tour_steps

    return lambda: ExecscopeApp(tour=True, steps=list(tour_steps(claims=list(claims))))


def real(config: Optional[RunConfig] = None, **kw) -> Callable[[], ExecscopeApp]:
    """An app as ``execscope run`` makes it: real sessions, the default refresh."""
    return lambda: ExecscopeApp(config, **kw)


SCENES: List[Scene] = [
    Scene("cpu-threads", "cpu under a thread pool of 4: about one core between them, the GIL shared four ways",
          (120, 34),
          real(RunConfig("cpu", "thread", workers=4, duration=30.0)), live(alerted("gil_contention", 4.0))),
    Scene("cpu-processes", "cpu under a process pool (forkserver): every core busy", (120, 34),
          real(RunConfig("cpu", "process", start_method="forkserver", workers=2, duration=30.0)),
          live(ran(4.0))),
    Scene("pickle-heavy", "pickle_heavy under processes: IPC is the task, and the alert says so", (120, 34),
          real(RunConfig("pickle_heavy", "process", start_method="fork", workers=2, duration=30.0)),
          live(alerted("pickle_bottleneck", 3.0))),
    Scene("recursive-submit", "recursive_submit with 2 workers: starvation, then deadlock", (120, 34),
          real(RunConfig("recursive_submit", "thread", workers=2)),
          live(lambda snap: snap.status == "deadlock")),
    Scene("compare", "cpu compared under every executor, one run after another", (120, 18),
          real(RunConfig("cpu", "thread", workers=2, tasks=200)), _compare),
    Scene("program", "execscope run -- python pipeline.py: a program's own two executors", (120, 40),
          real(RunConfig("pipeline", argv=(sys.executable, PIPELINE, "30"))), live(program_busy)),
    Scene("attach", "execscope attach PID: a running thread pool seen from outside", (120, 34),
          lambda: ExecscopeApp(RunConfig("attach", attach_pid=SPINNER.start(), on_deadlock="wait")),
          live(ran(4.0)), cleanup=SPINNER.stop),
    Scene("cores-128", "SCRIPTED DATA, not a measurement: a 128-core machine, 64 worker processes", (160, 48),
          lambda: make_app(RunConfig("cpu", "process", start_method="forkserver", workers=64), cores=128),
          _scripted_128, measured=False),
    Scene("tour-80x24", "the tour's first step in an 80x24 terminal", (80, 24), real(tour=True),
          live(lambda snap: snap.finished or snap.counts.finished >= 50)),
    Scene("tour-60x20", "the tour at 60x20", (60, 20), real(tour=True),
          live(lambda snap: snap.finished or snap.counts.finished >= 50)),
    Scene("tour-compare", "a comparative tour step (C6)",
          (80, 30), tour_of("C6"), _step_judged),
    Scene("picker", "the scenario picker", (100, 30), real(), _picker, measured=False),
]


async def render(scene: Scene) -> Tuple[str, Optional[str]]:
    app = scene.app()
    try:
        async with app.run_test(size=scene.size) as pilot:
            warning = await scene.drive(pilot)
            title = "execscope — " + scene.title
            if scene.measured:
                title += " · measured on %d CPUs" % (os.cpu_count() or 0)
            return app.export_screenshot(title=title), warning
    finally:
        if scene.cleanup is not None:
            scene.cleanup()


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = os.path.abspath(argv[0] if argv else "screenshots")
    wanted = set(argv[1:])
    unknown = wanted - {s.name for s in SCENES}
    if unknown:
        print("no such scene: %s (scenes: %s)" % (", ".join(sorted(unknown)), ", ".join(s.name for s in SCENES)),
              file=sys.stderr)
        return 2
    os.makedirs(out, exist_ok=True)
    here = os.getcwd()
    os.chdir(ROOT)  # the programs are named relative to the project
    try:
        return _render_all(out, wanted)
    finally:
        os.chdir(here)


def _render_all(out: str, wanted: set) -> int:
    failed = 0
    for scene in SCENES:
        if wanted and scene.name not in wanted:
            continue
        started = time.monotonic()
        svg, warning = asyncio.run(render(scene))
        path = os.path.join(out, scene.name + ".svg")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(svg)
        print("wrote %s (%dx%d, %.1fs)" % (path, scene.size[0], scene.size[1], time.monotonic() - started))
        if warning:
            failed += 1
            print("  warning: %s: %s" % (scene.name, warning), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
