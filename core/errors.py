"""The base of errors whose message is meant for the person running the service.

Anything raised as a :class:`UserFacingError` carries one plain line that names what is wrong
and, where it can, what to do. The command line prints it and exits with code 2; the API
turns it into a problem-details answer. Other exceptions are bugs and keep their traceback.
"""


class UserFacingError(Exception):
    """Bad input, bad settings or an unreachable dependency, explained in one line."""

    exit_code = 2
