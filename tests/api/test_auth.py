"""API keys: scopes, hashing, 401/403 problems, revocation, the CLI and the admin key."""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.app import Services, create_app
from core.settings import Settings
from core.store import Store
from core.store.keys import ApiKeyError, parse_scopes
from core.store.tables import ApiKeyRow
from cryptosense.cli import main
from cryptosense.commands.admin_key import ensure_admin_key
from tests.api.test_api import NOW, add_doc


@pytest.fixture
def client(settings: Settings, sqlite_store: Store) -> Iterator[TestClient]:
    add_doc(sqlite_store, 10, 0.5)
    svc = Services(store=sqlite_store, model_version=sqlite_store.scores.latest_version)
    svc.clock = lambda: NOW
    with TestClient(create_app(settings, services=svc)) as c:
        yield c


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_keys_are_stored_as_their_hash_only(sqlite_store: Store) -> None:
    record, key = sqlite_store.keys.create("chat,read", name="bot")
    assert key.startswith(f"cs_{record.id}_") and len(key) > 40
    assert record.scopes == ("read", "chat")
    with sqlite_store.session() as s:
        row = s.exec(select(ApiKeyRow)).one()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in repr(row.model_dump())
    assert sqlite_store.keys.lookup(key) == record
    assert sqlite_store.keys.lookup(key + "x") is None


def test_unknown_or_empty_scopes_are_refused_naming_the_known_ones() -> None:
    with pytest.raises(ApiKeyError, match="unknown scope write; scopes: read, subscribe"):
        parse_scopes("read,write")
    with pytest.raises(ApiKeyError, match="at least one scope"):
        parse_scopes(" , ")


def test_no_key_is_a_401_problem_with_www_authenticate(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic eDp5"}):
        resp = client.get("/v1/sentiment/BTC", headers=headers)
        assert resp.status_code == 401, headers
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.headers["www-authenticate"] == 'Bearer realm="cryptosense"'
        assert "Authorization: Bearer" in resp.json()["detail"]
    resp = client.get("/v1/assets", headers=_auth("cs_deadbeef_guess"))
    assert resp.status_code == 401 and resp.json()["detail"] == "unknown API key"


def test_a_key_without_the_scope_is_a_403_and_admin_implies_every_scope(
    client: TestClient, sqlite_store: Store
) -> None:
    _, chat = sqlite_store.keys.create("chat")
    _, admin = sqlite_store.keys.create("admin")
    _, read = sqlite_store.keys.create("read")
    resp = client.get("/v1/sentiment/BTC", headers=_auth(chat))
    assert resp.status_code == 403
    assert "lacks the 'read' scope (it has: chat)" in resp.json()["detail"]
    assert 'error="insufficient_scope", scope="read"' in resp.headers["www-authenticate"]
    assert client.get("/v1/sentiment/BTC", headers=_auth(admin)).status_code == 200
    assert client.get("/v1/sentiment/BTC", headers=_auth(read)).json()["points"]


def test_revoked_key_stops_working(client: TestClient, sqlite_store: Store) -> None:
    record, key = sqlite_store.keys.create("read")
    assert client.get("/v1/assets", headers=_auth(key)).status_code == 200
    sqlite_store.keys.revoke(record.id)
    client.app.state.services.key_cache.forget()  # type: ignore[attr-defined]
    resp = client.get("/v1/assets", headers=_auth(key))
    assert resp.status_code == 401 and f"{record.id} was revoked" in resp.json()["detail"]


def test_only_health_answers_without_a_key(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if path in ("/healthz", "/readyz", "/metrics"):
                continue
            assert op.get("security") == [{"HTTPBearer": []}], (method, path)
            assert {"401", "403"} <= set(op["responses"]), (method, path)
            if method == "get" and "{" not in path:
                assert client.get(path).status_code == 401, path


def test_keys_cli_creates_lists_and_revokes(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRYPTOSENSE_DATA_DIR", str(settings.data_dir))
    assert main(["keys", "create", "--scopes", "read,chat", "--name", "desk"]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert key.startswith("cs_") and " " not in key
    key_id = key.split("_")[1]
    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert key_id in listing and "read,chat" in listing and "desk" in listing
    assert key not in listing
    assert main(["keys", "revoke", key_id]) == 0
    assert f"revoked key {key_id}" in capsys.readouterr().out
    assert main(["keys", "revoke", "nope"]) == 2
    assert "no API key with id 'nope'" in capsys.readouterr().err
    assert main(["keys", "create", "--scopes", "root"]) == 2
    assert "unknown scope root" in capsys.readouterr().err


def test_first_start_writes_an_admin_key_readable_by_its_owner_only(
    settings: Settings, sqlite_store: Store
) -> None:
    path, created = ensure_admin_key(sqlite_store, settings.paths)
    assert created and path == settings.data_dir / "admin.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    found = sqlite_store.keys.lookup(key)
    assert found is not None and found.scopes == ("admin",)
    assert ensure_admin_key(sqlite_store, settings.paths) == (path, False)
    assert path.read_text().strip() == key  # a second start keeps the key
