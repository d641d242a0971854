"""A tiny style checker for Python files whose -j runs files in a Pool.

    python lint_j.py [-j N] PATH...

For each file (directories are walked), reports lines longer than 79
characters, trailing whitespace and tabs, one "path:line: message" each,
and a total.  -j N checks N files at a time with multiprocessing.Pool's
imap_unordered, each worker's own counter set by the pool initializer.
Exits 1 if anything was reported.
"""

import argparse
import multiprocessing
import os
import sys

_checked = 0


def _init_worker():
    global _checked
    _checked = 0


def check_file(path):
    global _checked
    _checked += 1
    problems = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, 1):
                text = line.rstrip("\n")
                if len(text) > 79:
                    problems.append("%s:%d: line too long (%d)" % (path, number, len(text)))
                if text != text.rstrip():
                    problems.append("%s:%d: trailing whitespace" % (path, number))
                if "\t" in text:
                    problems.append("%s:%d: tab" % (path, number))
    except OSError as exc:
        problems.append("%s: cannot read: %s" % (path, exc))
    return problems


def python_files(paths):
    for path in paths:
        if os.path.isdir(path):
            for folder, _, names in os.walk(path):
                for name in sorted(names):
                    if name.endswith(".py"):
                        yield os.path.join(folder, name)
        else:
            yield path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    files = sorted(python_files(args.paths))
    if args.jobs > 1:
        with multiprocessing.Pool(args.jobs, initializer=_init_worker) as pool:
            reports = list(pool.imap_unordered(check_file, files))
    else:
        reports = [check_file(f) for f in files]
    count = 0
    for problems in reports:
        for line in problems:
            print(line)
        count += len(problems)
    print("%d file(s), %d problem(s)" % (len(files), count))
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main())
