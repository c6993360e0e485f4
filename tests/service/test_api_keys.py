"""API keys: issued by an admin with scopes, enforced by every service, stored hashed, and their last
use recorded. (A revoked key refused by every process within 2 s is tests/e2e/test_api_keys.py.)"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import READ_ONLY_API_KEY
from tests.service.checks import created, problem
from tests.support.routes import READ_ROUTES


async def create_key(subscription, *scopes: str) -> dict:
    return created(
        await subscription.client.post("/v1/api-keys", json={"name": f"test {'+'.join(scopes)}", "scopes": list(scopes)})
    )


@pytest.fixture
async def keys(subscription) -> dict[str, dict]:
    # The write key can read too, so that its 403s below come from the admin guard, not the read check.
    return {
        "read": await create_key(subscription, "read"),
        "write": await create_key(subscription, "read", "write"),
        "admin": await create_key(subscription, "admin"),
    }


async def test_a_new_key_is_shown_once_with_its_prefix_and_scopes(subscription, keys):
    new = keys["write"]
    assert new["key"].startswith(new["prefix"]) and new["prefix"].startswith("tk_test_")
    assert new["scopes"] == ["read", "write"] and new["id"].startswith("key_") and new["created_at"]
    listed = {k["id"]: k for k in (await subscription.client.get("/v1/api-keys", params={"limit": 100})).json()["data"]}
    assert listed[new["id"]]["prefix"] == new["prefix"]
    assert "key" not in listed[new["id"]]


async def test_a_read_key_reads_and_writes_nothing(services, subscription, keys):
    for service, path in READ_ROUTES.items():
        reader = (await services.open(service)).caller(keys["read"]["key"])
        assert (await reader.get(path)).status_code == 200, service
    refused = await subscription.caller(keys["read"]["key"]).post(
        "/v1/customers", json={"email": "r@example.com", "name": "R", "currency": "USD"}
    )
    problem(refused, 403, "insufficient_scope")


async def test_a_write_key_writes_but_cannot_administer(services, subscription, keys):
    writer = subscription.caller(keys["write"]["key"])
    assert (
        await writer.post("/v1/customers", json={"email": "w@example.com", "name": "W", "currency": "USD"})
    ).status_code == 201
    dunning, health = await services.open("dunning"), await services.open("health-score")
    admin_only = [
        ("subscription", "POST", "/v1/api-keys", {"name": "x", "scopes": ["read"]}),
        ("subscription", "GET", "/v1/api-keys", None),
        ("subscription", "DELETE", f"/v1/api-keys/{keys['read']['id']}", None),
        ("subscription", "PATCH", "/v1/settings", {}),
        ("dunning", "PUT", "/v1/dunning-policy", (await dunning.client.get("/v1/dunning-policy")).json()),
        ("health-score", "PUT", "/v1/health-model", (await health.client.get("/v1/health-model")).json()),
        ("notification", "GET", "/v1/webhook-endpoints", None),
        ("notification", "POST", "/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/x", "event_types": ["*"]}),
        ("notification", "PATCH", "/v1/email-settings", {"templates": {}}),
    ]
    for service, method, path, body in admin_only:
        refused = await (await services.open(service)).caller(keys["write"]["key"]).request(method, path, json=body)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["code"] == "insufficient_scope"


async def test_an_admin_key_administers(services, subscription, keys):
    key = keys["admin"]["key"]
    assert (await subscription.caller(key).get("/v1/api-keys")).status_code == 200
    assert (await (await services.open("notification")).caller(key).get("/v1/webhook-endpoints")).status_code == 200
    dunning = await services.open("dunning")
    policy = (await dunning.client.get("/v1/dunning-policy")).json()
    assert (await dunning.caller(key).put("/v1/dunning-policy", json=policy)).status_code == 200


async def test_the_read_only_environment_key_cannot_create_keys(subscription):
    refused = await subscription.caller(READ_ONLY_API_KEY).post("/v1/api-keys", json={"name": "x", "scopes": ["admin"]})
    problem(refused, 403, "insufficient_scope")


async def test_bad_key_requests_are_refused(subscription):
    assert (await subscription.client.post("/v1/api-keys", json={"name": "x", "scopes": ["root"]})).status_code == 422
    problem(await subscription.client.delete("/v1/api-keys/key_nope"), 404, "api_key_not_found")


async def test_a_revoked_key_is_not_listed_and_cannot_be_revoked_twice(subscription, keys):
    revoked = keys["read"]
    assert (await subscription.client.delete(f"/v1/api-keys/{revoked['id']}")).status_code == 200
    listed = (await subscription.client.get("/v1/api-keys", params={"limit": 100})).json()["data"]
    assert revoked["id"] not in {k["id"] for k in listed}
    problem(await subscription.client.delete(f"/v1/api-keys/{revoked['id']}"), 404, "api_key_not_found")


async def test_keys_are_stored_hashed_and_their_last_use_is_recorded(services, subscription, keys):
    key = keys["read"]
    assert (await (await services.open("invoicing")).caller(key["key"]).get("/v1/invoices")).status_code == 200
    rows = (await subscription.session.execute(text("SELECT * FROM api_keys"))).mappings().all()
    assert rows
    for row in rows:
        assert not any(key["key"] in str(value) for value in row.values())
    listed = {k["id"]: k for k in (await subscription.client.get("/v1/api-keys", params={"limit": 100})).json()["data"]}
    assert listed[key["id"]]["last_used_at"] is not None
