"""Errors a user caused: shown as one line, exit status 2, never a traceback."""


class UsageError(Exception):
    """Bad command-line input or an environment that cannot run the request."""
