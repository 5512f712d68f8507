"""Errors the command line turns into a clear message and an exit code, never a traceback."""


class UserError(Exception):
    """Something the user can fix: a bad argument, a missing file, an unreachable service."""

    exit_code = 2
