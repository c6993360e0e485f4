"""API keys across processes: a revoked key is refused by every service within 2 s (each process
caches verdicts). Issuing, scopes and storage are tests/service/test_api_keys.py."""

from __future__ import annotations

import time

import httpx

from tests.support.client import TenureClient
from tests.support.routes import READ_ROUTES

REVOCATION_SECONDS = 2.0


def call(api: TenureClient, key: str, service: str, path: str) -> httpx.Response:
    return httpx.get(api.urls[service] + path, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_a_revoked_key_is_refused_by_every_service_within_two_seconds(api: TenureClient):
    created = api.post("subscription", "/v1/api-keys", {"name": "test read", "scopes": ["read"]})
    for service, path in READ_ROUTES.items():  # every service has the key's verdict cached
        assert call(api, created["key"], service, path).status_code == 200, service
    assert api.request("subscription", "DELETE", f"/v1/api-keys/{created['id']}").status_code == 200
    revoked_at = time.monotonic()
    refused_after: dict[str, float] = {}
    while len(refused_after) < len(READ_ROUTES) and time.monotonic() - revoked_at < REVOCATION_SECONDS + 1:
        for service, path in READ_ROUTES.items():
            if service not in refused_after:
                answer = call(api, created["key"], service, path)
                if answer.status_code == 401:
                    assert answer.headers["www-authenticate"] == "Bearer"
                    refused_after[service] = time.monotonic() - revoked_at
        time.sleep(0.05)
    assert set(refused_after) == set(READ_ROUTES), refused_after
    assert max(refused_after.values()) <= REVOCATION_SECONDS, refused_after
