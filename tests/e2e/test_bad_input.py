"""Every bad input gets problem+json with a stable code, and changes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import READ_ONLY_API_KEY
from tests.support.client import TenureClient

PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].endswith(code)
    return body


def _counts(api: TenureClient) -> tuple[int, int, int]:
    plans = len(api.list_all("subscription", "/v1/plans", include_archived="true"))
    customers = len(api.list_all("subscription", "/v1/customers"))
    subscriptions = len(api.list_all("subscription", "/v1/subscriptions"))
    return plans, customers, subscriptions


@pytest.fixture
def customer(api: TenureClient) -> str:
    return api.post(
        "subscription",
        "/v1/customers",
        {"email": "bad@example.com", "name": "Bad", "currency": "USD", "payment_method": "pm_test_ok"},
    )["id"]


def test_unknown_plan(api: TenureClient, customer):
    before = _counts(api)
    response = api.request(
        "subscription", "POST", "/v1/subscriptions", json={"customer_id": customer, "plan_code": "no-such-plan"}
    )
    _problem(response, 404, "plan_not_found")
    assert _counts(api) == before


def test_negative_amount(api: TenureClient):
    before = _counts(api)
    plan = {"code": api.unique("neg"), "name": "Negative", "currency": "USD", "amount": -100, "interval": "month"}
    body = _problem(api.request("subscription", "POST", "/v1/plans", json=plan), 422, "negative_amount")
    assert body["errors"][0]["loc"][-1] == "amount"
    assert _counts(api) == before


def test_float_amount_is_refused_not_rounded(api: TenureClient):
    plan = {"code": api.unique("flt"), "name": "Float", "currency": "USD", "amount": 49.5, "interval": "month"}
    _problem(api.request("subscription", "POST", "/v1/plans", json=plan), 422, "validation_error")


@pytest.mark.parametrize("currency", ["usd", "ZZZ", "DOLLARS"])
def test_unknown_currency(api: TenureClient, currency):
    before = _counts(api)
    plan = {"code": api.unique("cur"), "name": "Currency", "currency": currency, "amount": 100, "interval": "month"}
    _problem(api.request("subscription", "POST", "/v1/plans", json=plan), 422, "invalid_currency")
    customer = {"email": "c@example.com", "name": "C", "currency": currency}
    _problem(api.request("subscription", "POST", "/v1/customers", json=customer), 422, "invalid_currency")
    charge = {"customer_id": "cus_x", "amount": 100, "currency": currency, "description": "x"}
    _problem(api.request("invoicing", "POST", "/v1/charges", json=charge), 422, "invalid_currency")
    assert _counts(api) == before


def test_malformed_json(api: TenureClient):
    before = _counts(api)
    response = api.request(
        "subscription",
        "POST",
        "/v1/customers",
        content=b'{"email": "x@example.com", "name": ',
        headers={"content-type": "application/json"},
    )
    _problem(response, 422, "malformed_json")
    assert _counts(api) == before


def test_missing_and_wrong_api_key(api: TenureClient):
    before = _counts(api)
    plan = {"code": api.unique("auth"), "name": "Auth", "currency": "USD", "amount": 100, "interval": "month"}
    for service in ["subscription", "invoicing", "dunning", "credit", "health-score"]:
        url = api.urls[service] + "/v1/plans"
        _problem(httpx.post(url, json=plan), 401, "invalid_api_key")
        _problem(httpx.post(url, json=plan, headers={"Authorization": "Bearer wrong"}), 401, "invalid_api_key")
    _problem(httpx.get(api.urls["invoicing"] + "/v1/invoices"), 401, "invalid_api_key")
    assert _counts(api) == before


def test_read_only_key_cannot_write(api: TenureClient):
    before = _counts(api)
    headers = {"Authorization": f"Bearer {READ_ONLY_API_KEY}"}
    assert httpx.get(api.urls["subscription"] + "/v1/plans", headers=headers).status_code == 200
    plan = {"code": api.unique("ro"), "name": "Read only", "currency": "USD", "amount": 100, "interval": "month"}
    _problem(httpx.post(api.urls["subscription"] + "/v1/plans", json=plan, headers=headers), 403, "insufficient_scope")
    assert _counts(api) == before


def test_internal_routes_refuse_the_public_key(api: TenureClient):
    response = api.request("invoicing", "POST", "/internal/invoices/inv_x/collect", json={"attempt_key": "k"})
    _problem(response, 401, "invalid_service_token")


def test_unknown_route_and_resource(api: TenureClient):
    _problem(api.request("subscription", "GET", "/v1/nothing-here"), 404, "route_not_found")
    _problem(api.request("subscription", "GET", "/v1/customers/cus_missing"), 404, "customer_not_found")
    _problem(api.request("invoicing", "GET", "/v1/invoices/inv_missing"), 404, "invoice_not_found")


def test_refused_subscription_in_another_currency_changes_nothing(api: TenureClient, customer):
    eur = api.unique("eur")
    api.post("subscription", "/v1/plans", {"code": eur, "name": "Euro", "currency": "EUR", "amount": 100, "interval": "month"})
    before = _counts(api)
    response = api.request("subscription", "POST", "/v1/subscriptions", json={"customer_id": customer, "plan_code": eur})
    _problem(response, 422, "currency_mismatch")
    assert _counts(api) == before
    assert api.get("subscription", "/v1/subscriptions", params={"customer_id": customer})["data"] == []


def test_invalid_dunning_policy(api: TenureClient):
    before = api.get("dunning", "/v1/dunning-policy")
    response = api.request("dunning", "PUT", "/v1/dunning-policy", json={"retry_after_days": [3, 1], "final_action": "cancel"})
    _problem(response, 422, "invalid_dunning_policy")
    assert api.get("dunning", "/v1/dunning-policy") == before
