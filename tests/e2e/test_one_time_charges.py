"""One-time charges (`POST /v1/charges`): invoiced and collected at once. Public API, test clocks."""

from __future__ import annotations

from tests.support.client import TenureClient
from tests.support.credits import problem
from tests.support.lifecycle import customer, lines


def test_one_time_charge_is_invoiced_and_collected_at_once(api: TenureClient):
    clock = api.create_clock("2026-06-10T00:00:00Z")
    cus = customer(api, clock)
    api.wait_ready(clock)  # invoicing learns of the customer over the bus
    body = {"customer_id": cus, "amount": 2500, "currency": "USD", "description": "Onboarding"}
    invoice = api.post("invoicing", "/v1/charges", body)
    assert lines(invoice) == [("one_time", 2500, "Onboarding")]
    assert (invoice["status"], invoice["total"], invoice["amount_paid"], invoice["subscription_id"]) == ("paid", 2500, 2500, None)
    assert (invoice["billing_reason"], invoice["issued_at"], invoice["paid_at"]) == (
        "one_time_charge",
        "2026-06-10T00:00:00Z",
        "2026-06-10T00:00:00Z",
    )
    [payment] = api.get("invoicing", "/v1/payments", params={"invoice_id": invoice["id"]})["data"]
    assert (payment["status"], payment["amount"]) == ("succeeded", 2500)


def test_declined_one_time_charge_stays_open_and_refusals(api: TenureClient):
    clock = api.create_clock("2026-06-10T00:00:00Z")
    cus = customer(api, clock, payment_method="pm_test_declined")
    api.wait_ready(clock)
    invoice = api.post("invoicing", "/v1/charges", {"customer_id": cus, "amount": 990, "currency": "USD", "description": "Extra"})
    assert (invoice["status"], invoice["amount_due"]) == ("open", 990)
    [payment] = api.get("invoicing", "/v1/payments", params={"invoice_id": invoice["id"]})["data"]
    assert (payment["status"], payment["failure_code"]) == ("failed", "card_declined")
    base = {"customer_id": cus, "amount": 100, "currency": "USD", "description": "x"}
    assert problem(api, "invoicing", "/v1/charges", {**base, "currency": "EUR"}, 422)["code"] == "currency_mismatch"
    assert problem(api, "invoicing", "/v1/charges", {**base, "amount": 0}, 422)["code"] == "validation_error"
    assert problem(api, "invoicing", "/v1/charges", {**base, "amount": 1.5}, 422)["code"] == "validation_error"
    assert problem(api, "invoicing", "/v1/charges", {**base, "customer_id": "cus_nope"}, 404)["code"] == "customer_not_found"
    assert [i["id"] for i in api.invoices(customer_id=cus)] == [invoice["id"]]
