"""execscope: watch Python's executors trade threads against processes, live.

This package's top level, ``execscope.runner``, ``execscope.protocol`` and
``execscope.machine`` import only the standard library: the runner runs
under any interpreter the user names.
"""

__version__ = "0.1.0"
