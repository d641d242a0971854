"""execscope: watch Python's executors trade threads against processes, live.

This package's top level, ``execscope.runner``, ``execscope.protocol`` and
``execscope.machine`` import only the standard library: the runner runs
under any interpreter the user names.

The repository keeps the TUI and the workload catalog in the top-level
folders ``tui/`` and ``workloads/``, but they are imported as
``execscope.tui`` and ``execscope.workloads``: a name of ours at the top of
``sys.path`` would collide with a user's own ``workloads.py`` or ``tui.py``
(a project that has one could not be profiled).  An installed wheel maps the
folders into the package (``pyproject.toml``); a source checkout, or the
source directory handed to a foreign interpreter on ``PYTHONPATH``, finds
them through ``__path__`` below.
"""

import os as _os

__version__ = "0.1.0"

_HERE = _os.path.dirname(_os.path.realpath(__file__))
_CHECKOUT = _os.path.dirname(_HERE)
if (_os.path.isfile(_os.path.join(_CHECKOUT, "workloads", "__init__.py"))
        and not _os.path.isdir(_os.path.join(_HERE, "workloads"))):
    # A name under ``execscope.`` is looked for here first, then at the top
    # of the checkout, where only tui/ and workloads/ are meant to be found.
    __path__.append(_CHECKOUT)  # type: ignore[name-defined]  # noqa: F821
