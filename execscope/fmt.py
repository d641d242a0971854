"""Numbers for people: one rule per quantity, used by the TUI, the reports,
the Markdown tables, the tour and the detectors' messages.

Pure functions, standard library only.  ``None`` (not measured) is "-".

Durations: three significant digits below a second, in ns, µs or ms;
hundredths of a second from one second up; no space before the unit.

    >>> fmt_s(850e-9), fmt_s(12.3e-6), fmt_s(0.00456), fmt_s(0.41), fmt_s(2.5), fmt_s(75.126)
    ('850ns', '12.3µs', '4.56ms', '410ms', '2.50s', '75.13s')
    >>> fmt_s(0), fmt_s(None), fmt_s(-0.002)
    ('0', '-', '-2ms')

Sizes: binary units (1 KiB = 1024 B), whole bytes, else one decimal.

    >>> fmt_bytes(0), fmt_bytes(1536), fmt_bytes(8 * 2**20), fmt_bytes(3 * 2**40), fmt_bytes(None)
    ('0 B', '1.5 KiB', '8.0 MiB', '3072.0 GiB', '-')

Plain figures and rates: three significant digits, never an exponent, and
whole numbers are never rounded (from 100 up a figure has no decimals).

    >>> fmt_num(0.012345), fmt_num(2.0), fmt_num(12.345), fmt_num(123.456), fmt_num(98765.4), fmt_num(0)
    ('0.0123', '2', '12.3', '123', '98765', '0')
    >>> fmt_rate(0.5), fmt_rate(37.21), fmt_rate(4567.8)
    ('0.5/s', '37.2/s', '4568/s')

Speed-ups (a ratio against a baseline): two decimals and an ``x``.

    >>> fmt_x(1.857), fmt_x(None)
    ('1.86x', '-')
"""

from __future__ import annotations

from typing import Optional

__all__ = ["fmt_s", "fmt_bytes", "fmt_num", "fmt_rate", "fmt_x"]

_SUBSECOND = ((1e-3, 1e3, "ms"), (1e-6, 1e6, "µs"))
_BINARY = ("B", "KiB", "MiB", "GiB")


def fmt_s(seconds: Optional[float]) -> str:
    """A duration (see the module's rule)."""
    if seconds is None:
        return "-"
    size = abs(seconds)
    if size >= 1:
        return "%.2fs" % seconds
    if size == 0:
        return "0"
    for floor, scale, unit in _SUBSECOND:
        if size >= floor:
            return "%.3g%s" % (seconds * scale, unit)
    return "%.0fns" % (seconds * 1e9)


def fmt_bytes(n: Optional[float]) -> str:
    """A size in bytes (see the module's rule); GiB is the largest unit."""
    if n is None:
        return "-"
    for unit in _BINARY[:-1]:
        if abs(n) < 1024:
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0
    return "%.1f %s" % (n, _BINARY[-1])


def fmt_num(value: float) -> str:
    """A plain figure: three significant digits, whole numbers kept whole."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return "%d" % round(value)
    if magnitude >= 1:
        return ("%.2f" % value if magnitude < 10 else "%.1f" % value).rstrip("0").rstrip(".")
    text = "%.3g" % value
    if "e" in text:
        text = "%.6f" % value
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_rate(per_s: float) -> str:
    """Events per second: ``fmt_num`` and ``/s``."""
    return fmt_num(per_s) + "/s"


def fmt_x(ratio: Optional[float]) -> str:
    """A speed-up against a baseline."""
    return "-" if ratio is None else "%.2fx" % ratio
