"""Every bad input gets problem+json with a stable code, and changes nothing (no row, no event)."""

from __future__ import annotations

import pytest

from tests.conftest import READ_ONLY_API_KEY
from tests.service.checks import problem, row_counts

SUBSCRIPTION_TABLES = ("plans", "customers", "subscriptions", "outbox_messages")


@pytest.fixture
async def customer(subscription) -> str:
    body = {"email": "bad@example.com", "name": "Bad", "currency": "USD", "payment_method": "pm_test_ok"}
    return (await subscription.client.post("/v1/customers", json=body)).json()["id"]


async def test_unknown_plan(subscription, customer):
    before = await row_counts(subscription.session, *SUBSCRIPTION_TABLES)
    response = await subscription.client.post("/v1/subscriptions", json={"customer_id": customer, "plan_code": "no-such-plan"})
    problem(response, 404, "plan_not_found")
    assert await row_counts(subscription.session, *SUBSCRIPTION_TABLES) == before


async def test_negative_amount(subscription):
    plan = {"code": "neg", "name": "Negative", "currency": "USD", "amount": -100, "interval": "month"}
    body = problem(await subscription.client.post("/v1/plans", json=plan), 422, "negative_amount")
    assert body["errors"][0]["loc"][-1] == "amount"
    assert await row_counts(subscription.session, "plans") == {"plans": 0}


async def test_float_amount_is_refused_not_rounded(subscription):
    plan = {"code": "flt", "name": "Float", "currency": "USD", "amount": 49.5, "interval": "month"}
    problem(await subscription.client.post("/v1/plans", json=plan), 422, "validation_error")


@pytest.mark.parametrize("currency", ["usd", "ZZZ", "DOLLARS"])
async def test_unknown_currency(subscription, invoicing, currency):
    before = await row_counts(subscription.session, *SUBSCRIPTION_TABLES)
    plan = {"code": "cur", "name": "Currency", "currency": currency, "amount": 100, "interval": "month"}
    problem(await subscription.client.post("/v1/plans", json=plan), 422, "invalid_currency")
    customer = {"email": "c@example.com", "name": "C", "currency": currency}
    problem(await subscription.client.post("/v1/customers", json=customer), 422, "invalid_currency")
    charge = {"customer_id": "cus_x", "amount": 100, "currency": currency, "description": "x"}
    problem(await invoicing.client.post("/v1/charges", json=charge), 422, "invalid_currency")
    assert await row_counts(subscription.session, *SUBSCRIPTION_TABLES) == before
    assert await row_counts(invoicing.session, "invoices") == {"invoices": 0}


async def test_malformed_json(subscription):
    response = await subscription.client.post(
        "/v1/customers", content=b'{"email": "x@example.com", "name": ', headers={"content-type": "application/json"}
    )
    problem(response, 422, "malformed_json")
    assert await row_counts(subscription.session, "customers") == {"customers": 0}


@pytest.mark.parametrize("service", ["subscription", "invoicing", "dunning", "credit", "health-score"])
async def test_missing_and_wrong_api_key(services, service):
    opened = await services.open(service)
    plan = {"code": "auth", "name": "Auth", "currency": "USD", "amount": 100, "interval": "month"}
    problem(await opened.caller(None).post("/v1/plans", json=plan), 401, "invalid_api_key")
    problem(await opened.caller("wrong").post("/v1/plans", json=plan), 401, "invalid_api_key")
    problem(await opened.caller(None).get("/v1/invoices"), 401, "invalid_api_key")


async def test_read_only_key_cannot_write(subscription):
    read_only = subscription.caller(READ_ONLY_API_KEY)
    assert (await read_only.get("/v1/plans")).status_code == 200
    plan = {"code": "ro", "name": "Read only", "currency": "USD", "amount": 100, "interval": "month"}
    problem(await read_only.post("/v1/plans", json=plan), 403, "insufficient_scope")
    assert await row_counts(subscription.session, "plans") == {"plans": 0}


async def test_internal_routes_refuse_the_public_key(invoicing):
    response = await invoicing.client.post("/internal/invoices/inv_x/collect", json={"attempt_key": "k"})
    problem(response, 401, "invalid_service_token")


async def test_unknown_route_and_resource(subscription, invoicing):
    problem(await subscription.client.get("/v1/nothing-here"), 404, "route_not_found")
    problem(await subscription.client.get("/v1/customers/cus_missing"), 404, "customer_not_found")
    problem(await invoicing.client.get("/v1/invoices/inv_missing"), 404, "invoice_not_found")


async def test_refused_subscription_in_another_currency_changes_nothing(subscription, customer):
    eur = {"code": "eur", "name": "Euro", "currency": "EUR", "amount": 100, "interval": "month"}
    assert (await subscription.client.post("/v1/plans", json=eur)).status_code == 201
    before = await row_counts(subscription.session, *SUBSCRIPTION_TABLES)
    response = await subscription.client.post("/v1/subscriptions", json={"customer_id": customer, "plan_code": "eur"})
    problem(response, 422, "currency_mismatch")
    assert await row_counts(subscription.session, *SUBSCRIPTION_TABLES) == before
    assert (await subscription.client.get("/v1/subscriptions", params={"customer_id": customer})).json()["data"] == []


async def test_invalid_dunning_policy(dunning):
    before = (await dunning.client.get("/v1/dunning-policy")).json()
    response = await dunning.client.put("/v1/dunning-policy", json={"retry_after_days": [3, 1], "final_action": "cancel"})
    problem(response, 422, "invalid_dunning_policy")
    assert (await dunning.client.get("/v1/dunning-policy")).json() == before
