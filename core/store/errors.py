"""Why a store cannot be opened, in one line a user can act on."""

from __future__ import annotations

from core.errors import UserFacingError


class StoreUnavailable(UserFacingError):
    """The database cannot be reached or created (the message names it, password masked)."""


class SchemaError(UserFacingError):
    """The database's schema cannot be brought to what this code expects (a revision newer than
    the code, or data a migration refuses to drop)."""
