"""The HTTP edge of every service: bad bytes, the internal guard, auth and method headers, Request-Id."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.service.checks import created, problem, row_counts

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
    problem(response, 422, "invalid_characters")


@pytest.mark.parametrize("service", SERVICES)
async def test_nul_bytes_and_lone_surrogates_are_refused_everywhere(services, service):
    client, path = (await services.open(service)).client, PATHS[service]
    _invalid_characters(await client.get(f"{path}/id%00x"))
    _invalid_characters(await client.get(f"{path}/%ed%a0%80"))
    _invalid_characters(await client.get(f"{path}?starting_after=a%00b"))
    _invalid_characters(await client.get(f"{path}?customer_id=%ff"))
    _invalid_characters(await client.get(path, headers={"X-Note": b"caf\xe9"}))
    json_headers = {"content-type": "application/json"}
    for body in (b'{"name": "a\\u0000"}', b'{"name": "\\ud800"}', b'{"name": "a\x00"}', b'{"name": "\xff"}'):
        _invalid_characters(await client.post(path, content=body, headers=json_headers))


async def test_refused_bytes_change_nothing_and_clean_escapes_still_work(subscription):
    json_headers = {"content-type": "application/json"}
    body = b'{"email": "nul@example.com", "name": "N\\u0000", "currency": "USD"}'
    _invalid_characters(await subscription.client.post("/v1/customers", content=body, headers=json_headers))
    assert await row_counts(subscription.session, "customers") == {"customers": 0}
    body = b'{"email": "emoji@example.com", "name": "Zo\\u00eb \\ud83d\\ude00", "currency": "USD"}'
    customer = created(await subscription.client.post("/v1/customers", content=body, headers=json_headers))
    assert customer["name"] == "Zoë 😀"


@pytest.mark.parametrize("service", SERVICES)
async def test_unknown_internal_paths_answer_401_without_the_service_token(services, service):
    opened = await services.open(service)
    for path in ("/internal/no-such-thing", "/internal", "/internal/test-clocks/clk_x/counts"):
        for client in (opened.caller(None), opened.client):
            response = await client.get(path)
            problem(response, 401, "invalid_service_token")
            assert response.headers["www-authenticate"] == "Bearer"


async def test_unknown_internal_path_with_the_service_token_is_404(invoicing):
    problem(await invoicing.caller(invoicing.internal_token).get("/internal/no-such-thing"), 404, "route_not_found")


@pytest.mark.parametrize("service", SERVICES)
async def test_401_names_the_bearer_scheme(services, service):
    response = await (await services.open(service)).caller(None).get(PATHS[service])
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_405_carries_allow(invoicing):
    response = await invoicing.client.delete("/v1/invoices")
    problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"


@pytest.mark.parametrize("service", SERVICES)
async def test_every_response_carries_a_request_id(services, service):
    opened = await services.open(service)
    kept = await opened.client.get(PATHS[service], headers={"Request-Id": "client-trace-1"})
    assert kept.headers["request-id"] == "client-trace-1"
    anonymous = opened.caller(None)
    for path in ("/healthz", "/v1/x", "/internal/x"):
        assert re.fullmatch(r"req_[0-9a-f]{32}", (await anonymous.get(path)).headers["request-id"])
    insane = await opened.client.get(PATHS[service], headers={"Request-Id": "two words"})
    assert insane.headers["request-id"].startswith("req_")


@pytest.mark.parametrize("path", ["/v1/customers", "/internal/customers/cus_x"])
async def test_a_non_ascii_token_is_just_a_wrong_token(subscription, path):
    # hmac.compare_digest refuses non-ASCII str: compared as bytes, such a token is a plain 401.
    response = await subscription.caller(None).get(path, headers={"Authorization": "Bearer caf\u00e9".encode()})
    assert response.status_code == 401, response.text
