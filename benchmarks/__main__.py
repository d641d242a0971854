"""``python -m benchmarks [name ...]``: run every benchmark module's main() (or the named ones)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys


def main(argv: list) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    names = argv or sorted(m.name for m in pkgutil.iter_modules([here]) if not m.name.startswith("_"))
    for name in names:
        module = importlib.import_module("benchmarks." + name)
        print("== %s" % name, flush=True)
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
