"""API keys for tests: a real key in the test's store, as the header a client sends."""

from __future__ import annotations

from core.store import Store


def bearer(store: Store, scopes: str = "read") -> dict[str, str]:
    """``Authorization: Bearer <a new key with scopes>`` for a client over ``store``."""
    _, key = store.keys.create(scopes, name="test")
    return {"Authorization": f"Bearer {key}"}


#: For a store that cannot be reached: a well-formed key the API has to look up.
UNCHECKED = {"Authorization": "Bearer cs_00000000_not-a-real-key"}
