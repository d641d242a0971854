"""Regenerate the README screenshots: ``python -m tui.screenshots DIR`` (``make screenshots``).

Every picture is rendered from scripted snapshots (``tui.fake``): the numbers
are modelled on real runs of the same workloads on a 2-core machine, and the
128-core picture scales them to a machine this project may not have.  Scripted
data makes the pictures reproducible byte for byte; the live app draws real
runs with exactly the same code.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Awaitable, Callable, List, Optional, Tuple

from execscope.model import RunConfig

from .fake import make_app, settle, settle_compare

Scene = Tuple[str, str, Callable[[], object], Tuple[int, int], Optional[Callable[..., Awaitable[None]]]]


async def _compare(pilot) -> None:
    await settle(pilot)
    await pilot.press("c")
    await pilot.pause()
    await settle_compare(pilot)


async def _picker(pilot) -> None:
    await settle(pilot)
    await pilot.press("p")
    await pilot.pause()
    await pilot.press("down", "down", "down", "down")


SCENES: List[Scene] = [
    ("cpu-threads", "cpu under a thread pool: one core busy, the GIL shared four ways",
     lambda: make_app(RunConfig("cpu", "thread", workers=4)), (120, 34), None),
    ("cpu-processes", "cpu under a process pool: every core busy",
     lambda: make_app(RunConfig("cpu", "process", start_method="forkserver", workers=2)), (120, 34), None),
    ("pickle-heavy", "pickle_heavy under processes: IPC is the task, and the alert says so",
     lambda: make_app(RunConfig("pickle_heavy", "process", start_method="fork", workers=2, tasks=40)),
     (120, 34), None),
    ("recursive-submit", "recursive_submit with 2 workers: starvation, then deadlock",
     lambda: make_app(RunConfig("recursive_submit", "thread", workers=2), pause_at=None), (120, 34), None),
    ("compare", "cpu compared under every executor",
     lambda: make_app(RunConfig("cpu", "thread", workers=2, tasks=200)), (120, 30), _compare),
    ("cores-128", "a 128-core machine (scripted data), 64 worker processes",
     lambda: make_app(RunConfig("cpu", "process", start_method="forkserver", workers=64), cores=128),
     (160, 48), None),
    ("tour-80x24", "the tour's first step in an 80x24 terminal",
     lambda: make_app(tour=True), (80, 24), None),
    ("picker", "the scenario picker",
     lambda: make_app(RunConfig("cpu", "thread", workers=4)), (100, 30), _picker),
]


async def render(name: str, title: str, factory, size: Tuple[int, int], before) -> str:
    app = factory()
    async with app.run_test(size=size) as pilot:
        if before is None:
            await settle(pilot)
        else:
            await before(pilot)
        return app.export_screenshot(title="execscope — " + title)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = argv[0] if argv else "screenshots"
    os.makedirs(out, exist_ok=True)
    for name, title, factory, size, before in SCENES:
        svg = asyncio.run(render(name, title, factory, size, before))
        path = os.path.join(out, name + ".svg")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(svg)
        print("wrote %s (%dx%d)" % (path, size[0], size[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
