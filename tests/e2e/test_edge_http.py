"""The HTTP edge of every service: bad bytes, the internal guard, auth and method headers, Request-Id."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.client import TenureClient

SERVICES = ["subscription", "invoicing", "dunning", "credit", "health-score"]
# A path under each service's API (the bytes are refused before routing, so any path will do).
PATHS = {
    "subscription": "/v1/customers",
    "invoicing": "/v1/invoices",
    "dunning": "/v1/dunning-cases",
    "credit": "/v1/credit-notes",
    "health-score": "/v1/health",
}


def _invalid_characters(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_characters"


@pytest.mark.parametrize("service", SERVICES)
def test_nul_bytes_and_lone_surrogates_are_refused_everywhere(api: TenureClient, service):
    base, path = api.urls[service], PATHS[service]
    auth = {"Authorization": f"Bearer {api.api_key}"}
    with httpx.Client(headers=auth) as http:
        _invalid_characters(http.get(f"{base}{path}/id%00x"))
        _invalid_characters(http.get(f"{base}{path}/%ed%a0%80"))
        _invalid_characters(http.get(f"{base}{path}?starting_after=a%00b"))
        _invalid_characters(http.get(f"{base}{path}?customer_id=%ff"))
        _invalid_characters(http.get(f"{base}{path}", headers={"X-Note": b"caf\xe9"}))
        json_headers = {"content-type": "application/json"}
        for body in (b'{"name": "a\\u0000"}', b'{"name": "\\ud800"}', b'{"name": "a\x00"}', b'{"name": "\xff"}'):
            _invalid_characters(http.post(f"{base}{path}", content=body, headers=json_headers))


def test_refused_bytes_change_nothing_and_clean_escapes_still_work(api: TenureClient):
    before = len(api.list_all("subscription", "/v1/customers"))
    body = b'{"email": "nul@example.com", "name": "N\\u0000", "currency": "USD"}'
    _invalid_characters(
        api.request("subscription", "POST", "/v1/customers", content=body, headers={"content-type": "application/json"})
    )
    assert len(api.list_all("subscription", "/v1/customers")) == before
    body = b'{"email": "emoji@example.com", "name": "Zo\\u00eb \\ud83d\\ude00", "currency": "USD"}'
    created = api.request("subscription", "POST", "/v1/customers", content=body, headers={"content-type": "application/json"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Zoë 😀"


@pytest.mark.parametrize("service", SERVICES)
def test_unknown_internal_paths_answer_401_without_the_service_token(api: TenureClient, service):
    base = api.urls[service]
    for path in ("/internal/no-such-thing", "/internal", "/internal/test-clocks/clk_x/counts"):
        for headers in ({}, {"Authorization": f"Bearer {api.api_key}"}):
            response = httpx.get(base + path, headers=headers)
            assert response.status_code == 401, (path, response.text)
            assert response.json()["code"] == "invalid_service_token"
            assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_internal_path_with_the_service_token_is_404(api: TenureClient, stack):
    response = httpx.get(
        api.urls["invoicing"] + "/internal/no-such-thing", headers={"Authorization": f"Bearer {stack.internal_token}"}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "route_not_found"


@pytest.mark.parametrize("service", SERVICES)
def test_401_names_the_bearer_scheme(api: TenureClient, service):
    response = httpx.get(api.urls[service] + PATHS[service])
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_405_carries_allow(api: TenureClient):
    response = api.request("invoicing", "DELETE", "/v1/invoices")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "method_not_allowed"
    assert response.headers["allow"] == "GET"


@pytest.mark.parametrize("service", SERVICES)
def test_every_response_carries_a_request_id(api: TenureClient, service):
    base = api.urls[service]
    kept = api.request(service, "GET", PATHS[service], headers={"Request-Id": "client-trace-1"})
    assert kept.headers["request-id"] == "client-trace-1"
    for response in (httpx.get(base + "/healthz"), httpx.get(base + "/v1/x"), httpx.get(base + "/internal/x")):
        assert re.fullmatch(r"req_[0-9a-f]{32}", response.headers["request-id"])
    insane = api.request(service, "GET", PATHS[service], headers={"Request-Id": "two words"})
    assert insane.headers["request-id"].startswith("req_")


@pytest.mark.parametrize("path", ["/v1/customers", "/internal/customers/cus_x"])
def test_a_non_ascii_token_is_just_a_wrong_token(api: TenureClient, path):
    # hmac.compare_digest refuses non-ASCII str: compared as bytes, such a token is a plain 401.
    response = httpx.get(api.urls["subscription"] + path, headers={"Authorization": "Bearer caf\u00e9".encode()})
    assert response.status_code == 401, response.text
