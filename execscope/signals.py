"""Signal names for messages: one lookup that never raises.

``signal.Signals(n)`` raises ``ValueError`` for the real-time signals between
SIGRTMIN and SIGRTMAX (only those two ends have names) and for numbers this
platform does not define; a process killed by one of them must still end its
run with a readable reason.

>>> signal_name(9), signal_name(signal.SIGRTMIN + 6), signal_name(signal.SIGRTMIN), signal_name(999)
('SIGKILL', 'SIGRTMIN+6', 'SIGRTMIN', 'signal 999')
>>> exit_signal(-15), exit_signal(0), exit_signal(3)
('SIGTERM', None, None)
"""

from __future__ import annotations

import signal
from typing import Optional


def signal_name(signum: int) -> str:
    """``SIGKILL``, ``SIGRTMIN+6``, or ``signal N`` for a number without a name."""
    rt_min = getattr(signal, "SIGRTMIN", None)
    rt_max = getattr(signal, "SIGRTMAX", None)
    if rt_min is not None and rt_max is not None and rt_min < signum < rt_max:
        return "SIGRTMIN+%d" % (signum - rt_min)
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "signal %d" % signum


def exit_signal(returncode: Optional[int]) -> Optional[str]:
    """The signal that ended a process, from its return code (negative: killed); None otherwise."""
    if returncode is None or returncode >= 0:
        return None
    return signal_name(-returncode)
