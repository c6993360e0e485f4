"""Dunning policy and outcomes: recovery on a successful retry, and each final action."""

from __future__ import annotations

import pytest

from tests.support.client import TenureClient


def _subscribe(api: TenureClient, plan: str, payment_method: str) -> tuple[str, dict, str]:
    clock = api.create_clock("2026-03-01T00:00:00Z")
    customer = api.post(
        "subscription",
        "/v1/customers",
        {"email": "dun@example.com", "name": "Dun", "currency": "USD", "payment_method": payment_method, "test_clock_id": clock},
    )["id"]
    return clock, api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": plan}), customer


def test_a_successful_retry_pays_the_invoice_and_recovers_the_case(api: TenureClient, catalog):
    api.put("dunning", "/v1/dunning-policy", {"retry_after_days": [1, 3, 5], "final_action": "move_to_free_plan"})
    clock, subscription, _ = _subscribe(api, catalog["pro"], "pm_test_fail_first_2")
    api.advance(clock, "2026-03-10T00:00:00Z")
    [invoice] = api.invoices(subscription_id=subscription["id"])
    assert (invoice["status"], invoice["amount_paid"], invoice["paid_at"]) == ("paid", 4900, "2026-03-04T00:00:00Z")
    [case] = api.get("dunning", "/v1/dunning-cases", params={"invoice_id": invoice["id"]})["data"]
    assert case["status"] == "recovered" and case["next_retry_at"] is None
    assert [(a["at"], a["outcome"]) for a in case["attempts"]] == [
        ("2026-03-01T00:00:00Z", "failed"),
        ("2026-03-02T00:00:00Z", "failed"),
        ("2026-03-04T00:00:00Z", "succeeded"),
    ]
    after = api.get("subscription", f"/v1/subscriptions/{subscription['id']}")
    assert (after["plan_code"], after["on_free_plan"]) == (catalog["pro"], False)


def test_final_action_cancel_cancels_and_keeps_the_invoice_open(api: TenureClient, catalog):
    api.put("dunning", "/v1/dunning-policy", {"retry_after_days": [2], "final_action": "cancel"})
    clock, subscription, _ = _subscribe(api, catalog["pro"], "pm_test_declined")
    api.advance(clock, "2026-03-05T00:00:00Z")
    [invoice] = api.invoices(subscription_id=subscription["id"])
    assert invoice["status"] == "open"
    after = api.get("subscription", f"/v1/subscriptions/{subscription['id']}")
    assert (after["status"], after["cancelled_at"]) == ("cancelled", "2026-03-03T00:00:00Z")
    [case] = api.get("dunning", "/v1/dunning-cases", params={"invoice_id": invoice["id"]})["data"]
    assert (case["status"], case["final_action"]) == ("exhausted", "cancel")
    # Cancelled: no renewal is billed any more.
    api.advance(clock, "2026-04-05T00:00:00Z")
    assert len(api.invoices(subscription_id=subscription["id"])) == 1


def test_final_action_mark_unpaid_keeps_the_subscription_and_flags_it(api: TenureClient, catalog):
    api.put("dunning", "/v1/dunning-policy", {"retry_after_days": [1], "final_action": "mark_unpaid"})
    clock, subscription, _ = _subscribe(api, catalog["pro"], "pm_test_declined")
    api.advance(clock, "2026-03-03T00:00:00Z")
    [invoice] = api.invoices(subscription_id=subscription["id"])
    assert invoice["status"] == "open"
    after = api.get("subscription", f"/v1/subscriptions/{subscription['id']}")
    assert (after["status"], after["plan_code"], after["unpaid"]) == ("active", catalog["pro"], True)


def test_open_cases_keep_the_policy_they_started_with(api: TenureClient, catalog):
    api.put("dunning", "/v1/dunning-policy", {"retry_after_days": [1, 3, 5], "final_action": "move_to_free_plan"})
    clock, subscription, _ = _subscribe(api, catalog["pro"], "pm_test_declined")
    api.wait_ready(clock)
    api.put("dunning", "/v1/dunning-policy", {"retry_after_days": [10], "final_action": "cancel"})
    api.advance(clock, "2026-03-07T00:00:00Z")
    [invoice] = api.invoices(subscription_id=subscription["id"])
    [case] = api.get("dunning", "/v1/dunning-cases", params={"invoice_id": invoice["id"]})["data"]
    assert (case["status"], case["final_action"], len(case["attempts"])) == ("exhausted", "move_to_free_plan", 4)


def test_paying_through_the_api_during_dunning_recovers_the_case(api: TenureClient, catalog):
    api.put("dunning", "/v1/dunning-policy", {"retry_after_days": [1, 3, 5], "final_action": "move_to_free_plan"})
    clock, subscription, customer = _subscribe(api, catalog["pro"], "pm_test_declined")
    api.wait_ready(clock)
    [invoice] = api.invoices(subscription_id=subscription["id"])
    declined = api.request("invoicing", "POST", f"/v1/invoices/{invoice['id']}/pay")
    assert declined.status_code == 402 and declined.json()["code"] == "payment_failed"
    api.patch("subscription", f"/v1/customers/{customer}", {"payment_method": "pm_test_ok"})
    api.wait_ready(clock)
    paid = api.post("invoicing", f"/v1/invoices/{invoice['id']}/pay")
    assert paid["status"] == "paid"
    api.wait_ready(clock)
    [case] = api.get("dunning", "/v1/dunning-cases", params={"invoice_id": invoice["id"]})["data"]
    assert case["status"] == "recovered"
    api.advance(clock, "2026-03-10T00:00:00Z")
    assert len(api.get("invoicing", "/v1/payments", params={"invoice_id": invoice["id"]})["data"]) == 3


@pytest.mark.parametrize("days", [[], [3, 1], [0, 2], [1, 1]])
def test_invalid_retry_schedules_are_refused(api: TenureClient, days):
    response = api.request("dunning", "PUT", "/v1/dunning-policy", json={"retry_after_days": days, "final_action": "cancel"})
    assert response.status_code == 422 and response.json()["code"] == "invalid_dunning_policy"
