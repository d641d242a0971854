"""``python -m benchmarks [name ...]``: run every benchmark module's main() (or the named ones).

Each benchmark's output is shown as it runs and also kept, with the command
that made it, the machine's CPU count, the interpreter and the date, in
``benchmarks/results/<name>-<N>-cores.md`` (``--no-save`` keeps nothing), so
that a figure quoted in the README can be traced to the run that made it.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib
import io
import os
import pkgutil
import platform
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class _Tee(io.TextIOBase):
    def __init__(self, *streams) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def _header(name: str) -> str:
    return ("# %s\n\n`python -m benchmarks %s` on %d logical CPUs, %s %s, %s (load average at start %s)\n\n"
            % (name, name, os.cpu_count() or 0, platform.python_implementation(), platform.python_version(),
               datetime.date.today().isoformat(), " ".join("%.2f" % x for x in os.getloadavg())))


def main(argv: list) -> int:
    save = "--no-save" not in argv
    argv = [a for a in argv if a != "--no-save"]
    names = argv or sorted(m.name for m in pkgutil.iter_modules([HERE]) if not m.name.startswith("_"))
    for name in names:
        module = importlib.import_module("benchmarks." + name)
        print("== %s" % name, flush=True)
        kept = io.StringIO()
        # each benchmark reads its own options from sys.argv: give it none of ours
        sys.argv = ["python -m benchmarks." + name]
        with contextlib.redirect_stdout(_Tee(sys.stdout, kept) if save else sys.stdout):
            module.main()
        if save:
            path = os.path.join(HERE, "results", "%s-%d-cores.md" % (name, os.cpu_count() or 0))
            with open(path, "w") as f:
                f.write(_header(name) + "```\n" + kept.getvalue().rstrip("\n") + "\n```\n")
            print("(kept in %s)" % os.path.relpath(path), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
