"""Tables for people: Markdown (to paste into an issue or a wiki) and plain
text (for a terminal or a CI log), from compare outcomes and tour results.

Pure functions of their inputs; no processes, no files.

    >>> print(md_table(["a", "b"], [["1", "x|y"]]))
    | a | b |
    |---|---|
    | 1 | x\\|y |
"""

from __future__ import annotations

from typing import Any, List, Mapping, Optional, Sequence

from .fmt import fmt_bytes, fmt_num, fmt_s, fmt_x

COMPARE_HEADERS = ("config", "status", "tasks", "wall", "tasks/s", "speedup", "p95", "IPC", "CPU",
                   "start-up", "1st task", "peak RSS", "alerts")
TOUR_HEADERS = ("id", "claim", "measured here", "here", "figure")


def escape(cell: Any) -> str:
    """One Markdown table cell: no pipes, no line breaks."""
    text = "" if cell is None else str(cell)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ").strip()


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: Optional[str] = None) -> str:
    """``align``: one letter per column, l / r (default all left)."""
    marks = []
    for i in range(len(headers)):
        a = align[i] if align and i < len(align) else "l"
        marks.append("---:" if a == "r" else "---")
    lines = ["| " + " | ".join(escape(h) for h in headers) + " |", "|" + "|".join(marks) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(escape(c) for c in row) + " |")
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: Optional[str] = None) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    out = []
    for n, row in enumerate(cells):
        parts = []
        for i, cell in enumerate(row):
            right = bool(align) and i < len(align) and align[i] == "r" and n > 0
            parts.append(cell.rjust(widths[i]) if right else cell.ljust(widths[i]))
        out.append("  ".join(parts).rstrip())
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


# -- compare -------------------------------------------------------------------------


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else "%.0f%%" % (100 * value)


def compare_cells(row: Any) -> List[str]:
    return [
        row.label,
        row.status,
        "%d" % row.completed + ("+%d failed" % row.failed if row.failed else ""),
        fmt_s(row.wall_s),
        fmt_num(row.throughput_per_s),
        fmt_x(row.speedup),
        fmt_s(row.p95_s),
        _pct(row.ipc_share),
        "-" if row.cpu_percent is None else "%.0f%%" % row.cpu_percent,
        fmt_s(row.startup_s),
        fmt_s(row.first_task_s),
        fmt_bytes(row.peak_rss_bytes),
        ", ".join(row.alerts) or "-",
    ]


COMPARE_ALIGN = "llrrrrrrrrrrl"


def _machine_line(machine: Mapping[str, Any], interpreter: Mapping[str, Any]) -> str:
    quota = machine.get("cgroup_cpu_limit")
    return "%s logical CPUs, %s usable%s; Python %s (GIL %s, switch interval %s)" % (
        machine.get("logical_cpus", "?"), machine.get("usable_cpus", "?"),
        "" if quota is None else ", cgroup quota %.2f" % quota,
        interpreter.get("version", "?"), "on" if interpreter.get("gil_enabled", True) else "off",
        fmt_s(interpreter.get("switch_interval_s")))


def _params(params: Mapping[str, Any]) -> str:
    return " ".join("%s=%s" % kv for kv in params.items())


def compare_markdown(outcome: Any) -> str:
    title = "## execscope compare: %s %s" % (outcome.workload, _params(outcome.params))
    lines = [
        title.rstrip(),
        "",
        _machine_line(outcome.machine, outcome.interpreter) + ".",
        "",
        md_table(COMPARE_HEADERS, [compare_cells(r) for r in outcome.rows], COMPARE_ALIGN),
        "",
        "**Verdict:** " + outcome.verdict.reason,
    ]
    if outcome.verdict.expect:
        lines += ["", "The article expects: %s." % outcome.verdict.expect]
    if not outcome.complete:
        lines += ["", "_The comparison was stopped before every configuration ran._"]
    lines += ["", "CPU is the run's process tree in % of one core; speedup is throughput against serial; "
              "IPC is the share of task time spent pickling and moving data; start-up is the mean "
              "process-worker start-up; 1st task is submit to start of the first task."]
    return "\n".join(lines) + "\n"


# Columns a narrow terminal loses first (a CI log, not a terminal, keeps all).
NARROW_DROP = ("1st task", "wall", "p95", "peak RSS", "start-up", "tasks")


def fit_columns(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str,
                width: Optional[int]) -> tuple:
    """Drop columns (empty ones first, then NARROW_DROP in order) until the
    table fits ``width``; None keeps everything."""
    headers, rows, align = list(headers), [list(r) for r in rows], list(align)
    if width is None:
        return headers, rows, "".join(align)

    def table_width() -> int:
        return sum(max(len(str(r[i])) for r in [headers] + rows) for i in range(len(headers))) + 2 * (len(headers) - 1)

    def drop(name: str) -> None:
        i = headers.index(name)
        for r in [headers] + rows:
            del r[i]
        del align[i]

    for name, empty in (("alerts", "-"), ("status", "completed")):
        if table_width() > width and name in headers:
            i = headers.index(name)
            if all(r[i] == empty for r in rows):
                drop(name)
    for name in NARROW_DROP:
        if table_width() <= width:
            break
        if name in headers:
            drop(name)
    return headers, rows, "".join(align)


def compare_text(outcome: Any, width: Optional[int] = None) -> str:
    """The terminal version: table, bars, verdict; ``width`` fits a narrow terminal."""
    import textwrap

    headers, cells, align = fit_columns(COMPARE_HEADERS, [compare_cells(r) for r in outcome.rows],
                                        COMPARE_ALIGN, width)
    title = "%s %s  |  %s" % (outcome.workload, _params(outcome.params),
                              _machine_line(outcome.machine, outcome.interpreter))
    prose = [title, "verdict: " + outcome.verdict.reason]
    if outcome.verdict.expect:
        prose.append("article: " + outcome.verdict.expect)
    if width:
        prose = [textwrap.fill(p, width, subsequent_indent="  ") for p in prose]
    bars = speedup_bars(outcome.rows, 40 if width is None else max(10, min(40, width - 34)))
    lines = [prose[0], text_table(headers, cells, align), bars] + prose[1:]
    return "\n".join(line for line in lines if line)


def speedup_bars(rows: Sequence[Any], width: int = 40) -> str:
    """Throughput bars, longest = fastest; the serial line marked with '|'."""
    good = [r for r in rows if r.throughput_per_s > 0]
    if len(good) < 2:
        return ""
    top = max(r.throughput_per_s for r in good)
    serial = next((r.throughput_per_s for r in good if r.executor == "serial"), None)
    label_w = max(len(r.label) for r in good)
    out = []
    for r in good:
        n = max(1, round(width * r.throughput_per_s / top))
        bar = list("#" * n + " " * (width - n))
        if serial:
            mark = min(width - 1, max(0, round(width * serial / top) - 1))
            if bar[mark] == " ":
                bar[mark] = "|"
        out.append("%s  %s  %s" % (r.label.ljust(label_w), "".join(bar),
                                    fmt_x(r.speedup) if r.speedup is not None else fmt_num(r.throughput_per_s)))
    return "\n".join(out)


# -- tour ----------------------------------------------------------------------------------


def tour_cells(result: Any) -> List[str]:
    return [result.step.claim, result.step.text, result.check.measured, result.check.status,
            result.check.figure]


def tour_markdown(results: Sequence[Any], machine: Mapping[str, Any], interpreter: Mapping[str, Any],
                  size: str = "default", elapsed_s: Optional[float] = None, complete: bool = True) -> str:
    counts = {}
    for r in results:
        counts[r.check.status] = counts.get(r.check.status, 0) + 1
    summary = ", ".join("%d %s" % (n, status) for status, n in counts.items())
    lines = [
        "## The article's claims, measured on this machine",
        "",
        _machine_line(machine, interpreter) + ". " + summary + "."
        + ("" if elapsed_s is None else " Tour time %.0f s (%s sizes)." % (elapsed_s, size)),
        "",
        md_table(TOUR_HEADERS, [tour_cells(r) for r in results]),
    ]
    if not complete:
        lines += ["", "_The tour was stopped before every claim ran._"]
    lines += ["", "Reproduce: `execscope tour --headless --markdown report.md`; one claim's runs in detail: "
              "`execscope compare WORKLOAD`."]
    return "\n".join(lines) + "\n"


def tour_text(results: Sequence[Any]) -> str:
    return text_table(("id", "here", "figure"), [[r.step.claim, r.check.status, r.check.figure] for r in results])
