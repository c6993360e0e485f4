"""Other services keep copies of customers from events; a request that needs a customer they have
not heard of yet asks subscription-svc at once, and the newest version wins whatever arrives last."""

from __future__ import annotations

from tests.support.client import TenureClient


def _customer(api: TenureClient, clock: str, payment_method: str = "pm_test_ok") -> str:
    body = {
        "email": "copy@example.com",
        "name": "Copy",
        "currency": "USD",
        "payment_method": payment_method,
        "test_clock_id": clock,
    }
    return api.post("subscription", "/v1/customers", body)["id"]


def test_a_charge_and_a_credit_right_after_the_customer_is_created(api: TenureClient):
    clock = api.create_clock("2026-06-10T00:00:00Z")
    for _ in range(10):  # no waiting between the calls: the events may not have arrived yet
        customer = _customer(api, clock)
        invoice = api.post(
            "invoicing", "/v1/charges", {"customer_id": customer, "amount": 500, "currency": "USD", "description": "Setup"}
        )
        assert invoice["status"] == "paid"
        other = _customer(api, clock)
        balance = api.get("credit", f"/v1/customers/{other}/credit-balance")
        assert balance["balances"] == [{"currency": "USD", "amount": 0, "credit_notes": 0}]
    api.wait_ready(clock)


def test_the_newest_payment_method_wins_over_a_late_event(api: TenureClient):
    clock = api.create_clock("2026-06-10T00:00:00Z")
    customer = _customer(api, clock, payment_method="pm_test_declined")
    api.patch("subscription", f"/v1/customers/{customer}", {"payment_method": "pm_test_ok"})
    # The charge may fetch version 2 before the created (v1) and updated (v2) events arrive; the
    # late v1 event must not bring the declining card back.
    api.post("invoicing", "/v1/charges", {"customer_id": customer, "amount": 500, "currency": "USD", "description": "One"})
    api.wait_ready(clock)
    second = api.post(
        "invoicing", "/v1/charges", {"customer_id": customer, "amount": 700, "currency": "USD", "description": "Two"}
    )
    assert second["status"] == "paid"


def test_an_unknown_customer_is_still_refused(api: TenureClient):
    response = api.request(
        "invoicing", "POST", "/v1/charges", json={"customer_id": "cus_nobody", "amount": 1, "currency": "USD", "description": "x"}
    )
    assert (response.status_code, response.json()["code"]) == (404, "customer_not_found")
    response = api.request("credit", "GET", "/v1/customers/cus_nobody/credit-balance")
    assert (response.status_code, response.json()["code"]) == (404, "customer_not_found")
