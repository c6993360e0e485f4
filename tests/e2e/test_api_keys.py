"""API keys: issued by an admin with scopes, enforced by every service, revoked everywhere within
2 s, stored hashed, and their last use recorded."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tenure_shared.db import connect_raw, service_database_url
from tests.conftest import READ_ONLY_API_KEY
from tests.support.client import TenureClient

# A read route of each of the six services.
READ_ROUTES = {
    "subscription": "/v1/plans",
    "invoicing": "/v1/invoices",
    "dunning": "/v1/dunning-cases",
    "credit": "/v1/credit-notes",
    "health-score": "/v1/health/summary",
    "notification": "/v1/emails",
}
REVOCATION_SECONDS = 2.0


def create_key(api: TenureClient, *scopes: str) -> dict:
    return api.post("subscription", "/v1/api-keys", {"name": f"test {'+'.join(scopes)}", "scopes": list(scopes)})


def call(api: TenureClient, key: str, service: str, method: str, path: str, json=None) -> httpx.Response:
    return httpx.request(method, api.urls[service] + path, json=json, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture(scope="module")
def keys(api: TenureClient) -> dict[str, dict]:
    # The write key can read too, so that its 403s below come from the admin guard, not the read check.
    return {"read": create_key(api, "read"), "write": create_key(api, "read", "write"), "admin": create_key(api, "admin")}


def test_a_new_key_is_shown_once_with_its_prefix_and_scopes(api: TenureClient, keys):
    created = keys["write"]
    assert created["key"].startswith(created["prefix"]) and created["prefix"].startswith("tk_test_")
    assert created["scopes"] == ["read", "write"] and created["id"].startswith("key_") and created["created_at"]
    listed = {k["id"]: k for k in api.list_all("subscription", "/v1/api-keys")}
    assert listed[created["id"]]["prefix"] == created["prefix"]
    assert "key" not in listed[created["id"]]


def test_a_read_key_reads_and_writes_nothing(api: TenureClient, keys):
    key = keys["read"]["key"]
    for service, path in READ_ROUTES.items():
        assert call(api, key, service, "GET", path).status_code == 200, service
    refused = call(api, key, "subscription", "POST", "/v1/customers", {"email": "r@example.com", "name": "R", "currency": "USD"})
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"


def test_a_write_key_writes_but_cannot_administer(api: TenureClient, keys):
    key = keys["write"]["key"]
    created = call(api, key, "subscription", "POST", "/v1/customers", {"email": "w@example.com", "name": "W", "currency": "USD"})
    assert created.status_code == 201
    admin_only = [
        ("subscription", "POST", "/v1/api-keys", {"name": "x", "scopes": ["read"]}),
        ("subscription", "GET", "/v1/api-keys", None),
        ("subscription", "DELETE", f"/v1/api-keys/{keys['read']['id']}", None),
        ("subscription", "PATCH", "/v1/settings", {}),
        ("dunning", "PUT", "/v1/dunning-policy", api.get("dunning", "/v1/dunning-policy")),
        ("health-score", "PUT", "/v1/health-model", api.get("health-score", "/v1/health-model")),
        ("notification", "GET", "/v1/webhook-endpoints", None),
        ("notification", "POST", "/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/x", "event_types": ["*"]}),
        ("notification", "PATCH", "/v1/email-settings", {"templates": {}}),
    ]
    for service, method, path, body in admin_only:
        refused = call(api, key, service, method, path, body)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["code"] == "insufficient_scope"


def test_an_admin_key_administers(api: TenureClient, keys):
    key = keys["admin"]["key"]
    assert call(api, key, "subscription", "GET", "/v1/api-keys").status_code == 200
    assert call(api, key, "notification", "GET", "/v1/webhook-endpoints").status_code == 200
    policy = api.get("dunning", "/v1/dunning-policy")
    assert call(api, key, "dunning", "PUT", "/v1/dunning-policy", policy).status_code == 200


def test_the_read_only_environment_key_cannot_create_keys(api: TenureClient):
    refused = call(api, READ_ONLY_API_KEY, "subscription", "POST", "/v1/api-keys", {"name": "x", "scopes": ["admin"]})
    assert refused.status_code == 403


def test_bad_key_requests_are_refused(api: TenureClient):
    bad = api.request("subscription", "POST", "/v1/api-keys", json={"name": "x", "scopes": ["root"]})
    assert bad.status_code == 422
    unknown = api.request("subscription", "DELETE", "/v1/api-keys/key_nope")
    assert unknown.status_code == 404 and unknown.json()["code"] == "api_key_not_found"


def test_a_revoked_key_is_refused_by_every_service_within_two_seconds(api: TenureClient):
    created = create_key(api, "read")
    for service, path in READ_ROUTES.items():  # every service has the key's verdict cached
        assert call(api, created["key"], service, "GET", path).status_code == 200, service
    assert api.request("subscription", "DELETE", f"/v1/api-keys/{created['id']}").status_code == 200
    revoked_at = time.monotonic()
    refused_after: dict[str, float] = {}
    while len(refused_after) < len(READ_ROUTES) and time.monotonic() - revoked_at < REVOCATION_SECONDS + 1:
        for service, path in READ_ROUTES.items():
            if service not in refused_after:
                answer = call(api, created["key"], service, "GET", path)
                if answer.status_code == 401:
                    assert answer.headers["www-authenticate"] == "Bearer"
                    refused_after[service] = time.monotonic() - revoked_at
        time.sleep(0.05)
    assert set(refused_after) == set(READ_ROUTES), refused_after
    assert max(refused_after.values()) <= REVOCATION_SECONDS, refused_after
    assert created["id"] not in {k["id"] for k in api.list_all("subscription", "/v1/api-keys")}
    again = api.request("subscription", "DELETE", f"/v1/api-keys/{created['id']}")
    assert again.status_code == 404


def test_keys_are_stored_hashed_and_their_last_use_is_recorded(api: TenureClient, stack, keys):
    key = keys["read"]
    assert call(api, key["key"], "invoicing", "GET", "/v1/invoices").status_code == 200

    async def stored() -> list[dict]:
        connection = await connect_raw(service_database_url(stack.database_url, "subscription", stack.database_prefix))
        try:
            return [dict(r) for r in await connection.fetch("SELECT * FROM api_keys")]
        finally:
            await connection.close()

    rows = asyncio.run(stored())
    assert rows
    for row in rows:
        assert not any(key["key"] in str(value) for value in row.values())
    listed = {k["id"]: k for k in api.list_all("subscription", "/v1/api-keys")}
    assert listed[key["id"]]["last_used_at"] is not None
