"""An alert's evidence as a few readable lines: units from the key names,
rounded numbers, nested dicts and lists flattened.

    >>> evidence_items({"ipc_share": 0.9534, "bytes_out_per_task": 8388608,
    ...                 "worker_cpu_percent": {"worker_0": 25.54, "worker_1": 25.1}})
    ['ipc_share 95%', 'bytes_out_per_task 8.0 MiB', 'worker_cpu_percent (worker_0 26%, worker_1 25%)']

The detectors' dicts keep every figure for the JSON; the panel has a few
lines, so ``evidence_lines`` packs whole items into lines of the panel's width
(an item is split only when it is wider than a line on its own) and says how
many items did not fit.  Values that say nothing (None) are left out, and so
are the keys that name the executor (the message already does).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, List, Mapping, Sequence

from execscope.fmt import fmt_bytes, fmt_num, fmt_rate, fmt_s

HIDDEN = frozenset({"executor", "executor_id"})
MAX_SEQ = 4  # entries of a list shown before "+N"
MAX_TEXT = 48  # characters of a string value
MAX_FIELDS = 6  # entries of a nested dict shown before "+N"


def percent(value: float) -> str:
    """Whole percents, but never rounded up to 100 nor down to 0.

    >>> percent(25.53), percent(99.87), percent(100.0), percent(0.42), percent(187.2)
    ('26%', '99.8%', '100%', '0.42%', '187%')
    """
    if 99.5 <= value < 100:
        return "%.1f%%" % (math.floor(value * 10) / 10)
    if abs(value) < 10:
        return fmt_num(value) + "%"
    return "%d%%" % round(value)


def scalar(key: str, value: Any, whole: bool = False) -> str:
    """One value, in the unit its key names.

    >>> scalar("ipc_s_per_task", 0.000123), scalar("tasks_per_s", 37.21), scalar("window_s", 2.0)
    ('123µs', '37.2/s', '2.00s')
    >>> scalar("blocked_share", 0.5), scalar("pool_cpu_percent", 187.26), scalar("slower_than_serial", True)
    ('50%', '187%', 'yes')
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value if whole or len(value) <= MAX_TEXT else value[:MAX_TEXT - 1] + "…"
    if not isinstance(value, (int, float)):
        return str(value)
    name = key.lower()
    if "bytes" in name:
        return fmt_bytes(value)
    if name.endswith("_percent"):
        return percent(value)
    if name.endswith("share") or name.endswith("_mean") and "wait" in name:
        return percent(value * 100)
    if name.endswith("per_s"):
        return fmt_rate(value)
    if isinstance(value, float) and (name.endswith("_s") or "_s_" in name or name == "seconds"):
        return fmt_s(value)
    return fmt_num(value) if isinstance(value, float) else str(value)


def _seq(key: str, values: List[Any], whole: bool = False) -> str:
    cut = len(values) if whole else MAX_SEQ
    shown = [_nested(key, v, whole) for v in values[:cut]]
    if len(values) > cut:
        shown.append("+%d" % (len(values) - cut))
    sep = "; " if any(isinstance(v, Mapping) for v in values) else ", "
    return sep.join(shown)


def _nested(key: str, value: Any, whole: bool = False) -> str:
    """A value inside a dict or list: a key that names a unit uses it, else the parent's."""
    if isinstance(value, Mapping):
        parts = ["%s %s" % (k, _nested(str(k) if _has_unit(str(k)) else key, v, whole))
                 for k, v in value.items() if v is not None]
        if len(parts) > MAX_FIELDS and not whole:
            parts = parts[:MAX_FIELDS] + ["+%d" % (len(parts) - MAX_FIELDS)]
        return ", ".join(parts)
    if isinstance(value, (list, tuple)):
        return _seq(key, list(value), whole)
    return scalar(key, value, whole)


def _has_unit(key: str) -> bool:
    key = key.lower()
    return any(mark in key for mark in ("bytes", "percent", "share", "per_s")) or key.endswith("_s") \
        or key == "seconds"


def evidence_items(evidence: Mapping[str, Any], whole: bool = False) -> List[str]:
    """``key value`` for each piece of evidence that says something; ``whole``
    keeps every entry of a list and all of a string (the alert opened whole)."""
    items = []
    for key, value in dict(evidence).items():
        if key in HIDDEN or value is None or value == [] or value == {}:
            continue
        if isinstance(value, Mapping):
            items.append("%s (%s)" % (key, _nested(key, value, whole)))
        elif isinstance(value, (list, tuple)):
            items.append("%s [%s]" % (key, _seq(key, list(value), whole)))
        else:
            items.append("%s %s" % (key, scalar(key, value, whole)))
    return items


def evidence_text(evidence: Mapping[str, Any]) -> str:
    """All of it on one line, items separated by `` · ``."""
    return " · ".join(evidence_items(evidence))


def evidence_lines(evidence: Mapping[str, Any], width: int, first: int = 0, indent: int = 0,
                   max_lines: int = 3) -> List[str]:
    """Items packed into at most ``max_lines`` lines: the first has ``first``
    columns taken, the others start after ``indent`` spaces (not included in
    the strings).  When items are left over, the last line ends ``+N more``
    and every item shown is shown whole: an item is never cut off midway.

    >>> evidence_lines({"a": 1, "b": 2, "c": 3}, width=12)
    ['a 1 · b 2', 'c 3']
    >>> evidence_lines({"a": 1, "b": 2, "c": 333333333}, width=17, max_lines=1)
    ['a 1 · b 2 +1 more']
    >>> evidence_lines({"a": 1, "b": 2, "c": 3}, width=12, max_lines=1)
    ['a 1 +2 more']
    >>> evidence_lines({"a": 1, "workers": ["worker_%d" % i for i in range(4)], "b": 2}, width=24, max_lines=2)
    ['a 1 +2 more']
    """
    return pack(evidence_items(evidence), width, first, indent, max_lines)


def flow(items: Sequence[str], width: int, first: int = 0, indent: int = 0) -> List[str]:
    """Every item, `` · `` between them, into as many lines as it takes: an
    item wider than a line is split, at a space where there is one."""
    items = list(items)
    lines: List[str] = []

    def room(n: int) -> int:
        return max(8, width - (first if n == 0 else indent))

    line, i = "", 0
    while i < len(items):
        r = room(len(lines))
        candidate = items[i] if not line else line + " · " + items[i]
        if len(candidate) <= r:
            line, i = candidate, i + 1
        elif line and len(items[i]) <= room(len(lines) + 1):
            lines.append(line)  # the item fits a line of its own: start one
            line = ""
        else:  # wider than any line: fill this one and carry on, cut at a space if there is one
            cut = candidate.rfind(" ", 0, r + 1)
            cut = cut if cut > r // 2 else r
            lines.append(candidate[:cut].rstrip(" ·"))
            items[i] = candidate[cut:].lstrip()
            line = ""
    if line:
        lines.append(line)
    return lines


def pack(items: Iterable[str], width: int, first: int = 0, indent: int = 0, max_lines: int = 3) -> List[str]:
    """As many whole items as fit in ``max_lines`` lines, then ``+N more``
    (see ``evidence_lines``).  Only an item too long for all the lines on its
    own is shown in part, ending ``…``."""
    items = list(items)
    lines = flow(items, width, first, indent)
    if len(lines) <= max_lines:
        return lines
    for shown in range(len(items) - 1, 0, -1):
        more = "+%d more" % (len(items) - shown)
        lines = flow(items[:shown], width, first, indent)
        last = len(lines) - 1
        room = max(8, width - (first if last == 0 else indent))
        if len(lines[-1]) + 1 + len(more) <= room and len(lines) <= max_lines:
            lines[-1] += " " + more
            return lines
        if len(lines) < max_lines:
            return lines + [more]
    # the first item alone is too long: as much of it as fits, then the count
    more = " +%d more" % (len(items) - 1) if len(items) > 1 else ""
    lines = flow(items[:1], width, first, indent)[:max_lines]
    room = max(8, width - (first if len(lines) == 1 else indent))
    lines[-1] = lines[-1][:max(1, room - len(more) - 1)] + "…" + more
    return lines
