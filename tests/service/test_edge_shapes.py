"""Bad shapes are refused with a code instead of being read loosely: unknown filters and cursors,
numbers for date-times, strings for booleans, and negative money on every money route."""

from __future__ import annotations

import pytest

from tests.service.checks import created, problem, row_counts

LISTS_WITH_STATUS = [
    ("invoicing", "/v1/invoices", "open"),
    ("subscription", "/v1/subscriptions", "active"),
    ("dunning", "/v1/dunning-cases", "retrying"),
    ("credit", "/v1/credit-notes", "open"),
]
LISTS = [
    ("invoicing", "/v1/invoices"),
    ("invoicing", "/v1/payments"),
    ("subscription", "/v1/plans"),
    ("subscription", "/v1/customers"),
    ("subscription", "/v1/subscriptions"),
    ("subscription", "/v1/addons"),
    ("subscription", "/v1/metrics"),
    ("dunning", "/v1/dunning-cases"),
    ("credit", "/v1/credit-notes"),
    ("credit", "/v1/refunds"),
]


def monthly_plan(code: str, amount: int) -> dict:
    return {"code": code, "name": code.title(), "currency": "USD", "amount": amount, "interval": "month"}


@pytest.mark.parametrize(("service", "path", "known"), LISTS_WITH_STATUS)
async def test_an_unknown_status_filter_is_refused(services, service, path, known):
    client = (await services.open(service)).client
    problem(await client.get(path, params={"status": "bogus"}), 422, "invalid_filter")
    problem(await client.get(path, params={"status": "OPEN"}), 422, "invalid_filter")
    assert (await client.get(path, params={"status": known})).status_code == 200
    assert (await client.get(path, params={"status": ""})).status_code == 200  # empty: any


async def test_the_status_filter_filters_subscriptions(subscription):
    client = subscription.client
    created(await client.post("/v1/plans", json=monthly_plan("free", 0)))
    customer = created(await client.post("/v1/customers", json={"email": "s@example.com", "name": "S", "currency": "USD"}))
    created(await client.post("/v1/subscriptions", json={"customer_id": customer["id"], "plan_code": "free"}))
    active = await client.get("/v1/subscriptions", params={"customer_id": customer["id"], "status": "active"})
    assert len(active.json()["data"]) == 1
    paused = await client.get("/v1/subscriptions", params={"customer_id": customer["id"], "status": "paused"})
    assert paused.json()["data"] == []


@pytest.mark.parametrize(("service", "path"), LISTS)
async def test_an_unknown_cursor_is_refused(services, service, path):
    client = (await services.open(service)).client
    problem(await client.get(path, params={"starting_after": "zzz_not_an_id"}), 422, "invalid_cursor")


async def test_a_known_cursor_continues_the_list(subscription):
    for code in ("basic", "pro"):
        created(await subscription.client.post("/v1/plans", json=monthly_plan(code, 100)))
    first = (await subscription.client.get("/v1/plans", params={"limit": 1})).json()["data"][0]["code"]
    response = await subscription.client.get("/v1/plans", params={"limit": 1, "starting_after": first})
    assert response.status_code == 200 and response.json()["data"][0]["code"] > first


@pytest.mark.parametrize("frozen_time", [0, 1767225600, "1767225600", "2026-01-01", "2026-01-01T00:00:00", True])
async def test_a_date_time_is_an_rfc_3339_string_with_an_offset(subscription, frozen_time):
    response = await subscription.client.post("/v1/test-clocks", json={"frozen_time": frozen_time})
    problem(response, 422, "validation_error")


async def test_a_string_or_number_for_a_boolean_is_refused(subscription, dunning):
    before = (await subscription.client.get("/v1/settings")).json()
    for value in ("yes", "true", 1):
        problem(await subscription.client.patch("/v1/settings", json={"redeem_credits": value}), 422, "validation_error")
    assert (await subscription.client.get("/v1/settings")).json() == before
    policy = (await dunning.client.get("/v1/dunning-policy")).json()
    refused = {"retry_after_days": [1, 3], "final_action": "cancel", "notify_customer": "yes"}
    problem(await dunning.client.put("/v1/dunning-policy", json=refused), 422, "validation_error")
    assert (await dunning.client.get("/v1/dunning-policy")).json() == policy


async def test_negative_money_keeps_its_code_on_charges_and_credit_notes(invoicing, credit):
    charge = {"customer_id": "cus_m", "amount": -100, "currency": "USD", "description": "x"}
    problem(await invoicing.client.post("/v1/charges", json=charge), 422, "negative_amount")
    problem(await invoicing.client.post("/v1/charges", json={**charge, "amount": 0}), 422, "validation_error")
    note = {"customer_id": "cus_m", "amount": -1, "currency": "USD", "description": "x"}
    problem(await credit.client.post("/v1/credit-notes", json=note), 422, "negative_amount")
    problem(await credit.client.post("/v1/credit-notes", json={**note, "amount": 0}), 422, "validation_error")
    problem(await credit.client.post("/v1/refunds", json={"credit_note_id": "cn_x", "amount": -5}), 422, "negative_amount")
    assert await row_counts(invoicing.session, "invoices", "outbox_messages") == {"invoices": 0, "outbox_messages": 0}
    assert await row_counts(credit.session, "credit_notes", "refunds") == {"credit_notes": 0, "refunds": 0}


async def test_the_openapi_lists_statuses_as_enums_and_types_lists(invoicing, subscription):
    schemas = (await invoicing.client.get("/openapi.json")).json()["components"]["schemas"]
    assert set(schemas["InvoiceStatus"]["enum"]) == {"draft", "open", "paid", "void", "uncollectible"}
    assert schemas["ListPage_InvoiceOut_"]["properties"]["data"]["items"] == {"$ref": "#/components/schemas/InvoiceOut"}
    subscription_schemas = (await subscription.client.get("/openapi.json")).json()["components"]["schemas"]
    assert set(subscription_schemas["SubscriptionStatus"]["enum"]) == {"trialing", "active", "paused", "cancelled", "expired"}


@pytest.mark.parametrize("patch", [{"timezone": None}, {"proration": None}, {"redeem_credits": None}, {"trial_end_action": None}])
async def test_null_for_a_setting_that_cannot_be_empty_is_refused(subscription, patch):
    # Found by schemathesis: `{"timezone": null}` answered 500.
    before = (await subscription.client.get("/v1/settings")).json()
    problem(await subscription.client.patch("/v1/settings", json=patch), 422, "validation_error")
    assert (await subscription.client.get("/v1/settings")).json() == before


@pytest.mark.parametrize("patch", [{"email": None}, {"name": None}, {"metadata": None}])
async def test_null_for_a_customer_field_that_cannot_be_empty_is_refused(subscription, patch):
    body = {"email": "n@example.com", "name": "N", "currency": "USD"}
    customer = created(await subscription.client.post("/v1/customers", json=body))
    problem(await subscription.client.patch(f"/v1/customers/{customer['id']}", json=patch), 422, "validation_error")
    assert (await subscription.client.get(f"/v1/customers/{customer['id']}")).json() == customer


async def test_null_removes_the_payment_method(subscription):
    body = {"email": "pm@example.com", "name": "P", "currency": "USD", "payment_method": "pm_test_ok"}
    customer = created(await subscription.client.post("/v1/customers", json=body))
    removed = await subscription.client.patch(f"/v1/customers/{customer['id']}", json={"payment_method": None})
    assert created(removed, 200)["payment_method"] is None
