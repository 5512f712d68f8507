"""API keys: created with their scopes, stored as the SHA-256 of the secret, looked up by it.

A key reads ``cs_<id>_<secret>``: the id is visible (``keys list`` shows it, ``keys revoke``
takes it, logs name it); the whole key is shown once, when it is made, and only its hash is
kept, so a copy of the database does not give access.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from core.errors import UserFacingError
from core.store.engine import Database
from core.store.tables import ApiKeyRow
from core.times import utcnow

#: Every scope a key can carry; ``admin`` implies the others.
SCOPES = ("read", "subscribe", "chat", "admin")
PREFIX = "cs_"


class ApiKeyError(UserFacingError):
    """A key request that cannot be honoured (unknown scope, unknown key id)."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None

    def allows(self, scope: str) -> bool:
        return self.revoked_at is None and (scope in self.scopes or "admin" in self.scopes)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Scopes from ``"read,chat"`` (or a list), deduplicated in :data:`SCOPES` order; an unknown
    or empty one is a :class:`ApiKeyError` naming the known ones."""
    items = text.split(",") if isinstance(text, str) else list(text)
    wanted = {s.strip().lower() for s in items if s.strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ApiKeyError(f"unknown scope {', '.join(unknown)}; scopes: {', '.join(SCOPES)}")
    if not wanted:
        raise ApiKeyError(f"a key needs at least one scope: {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in wanted)


class KeyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, scopes: tuple[str, ...] | str, *, name: str = "") -> tuple[ApiKey, str]:
        """A new key with ``scopes``: the record and the key itself (shown once, never stored)."""
        scopes = parse_scopes(scopes)
        key_id = secrets.token_hex(4)
        key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        row = ApiKeyRow(
            id=key_id, name=name, key_hash=hash_key(key), scopes=list(scopes), created_at=utcnow()
        )
        with self._db.session() as s, s.begin():
            s.add(row)
        return _key(row), key

    def lookup(self, key: str) -> ApiKey | None:
        """The key's record (revoked ones too), None for a key never issued."""
        with self._db.session() as s:
            row = s.exec(select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_key(key))).first()
            return None if row is None else _key(row)

    def list(self) -> list[ApiKey]:
        with self._db.session() as s:
            rows = s.exec(select(ApiKeyRow).order_by(col(ApiKeyRow.created_at))).all()
            return [_key(r) for r in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke by id (the ``cs_`` prefix and anything after the id may be given too)."""
        key_id = key_id.removeprefix(PREFIX).split("_", 1)[0]
        with self._db.session() as s, s.begin():
            row = s.get(ApiKeyRow, key_id)
            if row is None:
                raise ApiKeyError(f"no API key with id {key_id!r} (see: cryptosense keys list)")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return _key(row)

    def has_active_admin(self) -> bool:
        return any(k.allows("admin") and "admin" in k.scopes for k in self.list())


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
