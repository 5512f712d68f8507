"""Errors the command line turns into a clear message and an exit code, never a traceback."""

from core.errors import UserFacingError


class UserError(UserFacingError):
    """Something the user can fix: a bad argument, a missing file, an unreachable service."""
