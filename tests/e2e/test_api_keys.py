"""API keys across processes: once a key is revoked, every service refuses it as soon as its cached
verdict has expired (each process caches verdicts for `VERDICT_TTL_SECONDS`; that bound itself is
tests/unit/test_auth_verifier.py's, on a clock the test moves). Issuing, scopes and storage are
tests/service/test_api_keys.py."""

from __future__ import annotations

import time

import httpx

from tenure_shared.auth import VERDICT_TTL_SECONDS
from tests.support.client import TenureClient
from tests.support.routes import READ_ROUTES

# How long a service may keep answering from a stale verdict when subscription-svc answers slowly
# (a loaded machine); generous on purpose: what this test shows is that every process lets go.
GIVE_UP_SECONDS = 30.0


def call(api: TenureClient, key: str, service: str, path: str) -> httpx.Response:
    return httpx.get(api.urls[service] + path, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_a_revoked_key_is_refused_by_every_service_once_its_verdict_expires(api: TenureClient):
    created = api.post("subscription", "/v1/api-keys", {"name": "test read", "scopes": ["read"]})
    for service, path in READ_ROUTES.items():  # every service has the key's verdict cached
        assert call(api, created["key"], service, path).status_code == 200, service
    assert api.request("subscription", "DELETE", f"/v1/api-keys/{created['id']}").status_code == 200
    time.sleep(VERDICT_TTL_SECONDS)
    refused: set[str] = set()
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while refused != set(READ_ROUTES) and time.monotonic() < deadline:
        for service, path in READ_ROUTES.items():
            if service not in refused:
                answer = call(api, created["key"], service, path)
                if answer.status_code == 401:
                    assert answer.headers["www-authenticate"] == "Bearer"
                    refused.add(service)
        time.sleep(0.05)
    assert refused == set(READ_ROUTES), f"still accepted by {set(READ_ROUTES) - refused}"
