"""Scenario 5 of lifecycle-examples.md: final payment failure → void and free plan, then back to pro.

Everything goes through the public API and over the real broker, on a test clock.
"""

from __future__ import annotations

from tests.support.client import TenureClient


def test_final_failure_voids_invoice_and_moves_to_free_plan_then_upgrade_back(api: TenureClient, catalog):
    api.put("dunning", "/v1/dunning-policy", {"retry_after_days": [1, 3, 5], "final_action": "move_to_free_plan"})
    clock = api.create_clock("2026-03-01T00:00:00Z")
    customer = api.post(
        "subscription",
        "/v1/customers",
        {
            "email": "s5@example.com",
            "name": "Scenario Five",
            "currency": "USD",
            "payment_method": "pm_test_ok",
            "test_clock_id": clock,
        },
    )["id"]
    subscription = api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": catalog["pro"]})
    assert subscription["status"] == "active"
    assert subscription["current_period_start"] == "2026-03-01T00:00:00Z"
    assert subscription["current_period_end"] == "2026-04-01T00:00:00Z"
    api.wait_ready(clock)
    [first] = api.invoices(customer_id=customer)
    assert (first["status"], first["total"], first["amount_paid"]) == ("paid", 4900, 4900)

    api.patch("subscription", f"/v1/customers/{customer}", {"payment_method": "pm_test_declined"})
    api.advance(clock, "2026-04-01T12:00:00Z")
    renewal = next(i for i in api.invoices(customer_id=customer) if i["id"] != first["id"])
    assert (renewal["status"], renewal["total"], renewal["period_start"]) == ("open", 4900, "2026-04-01T00:00:00Z")
    [case] = api.get("dunning", "/v1/dunning-cases", params={"invoice_id": renewal["id"]})["data"]
    assert case["status"] == "retrying"
    assert case["next_retry_at"] == "2026-04-02T00:00:00Z"

    api.advance(clock, "2026-04-06T12:00:00Z")
    case = api.get("dunning", f"/v1/dunning-cases/{case['id']}")
    assert case["status"] == "exhausted"
    assert [(a["at"], a["outcome"]) for a in case["attempts"]] == [
        ("2026-04-01T00:00:00Z", "failed"),
        ("2026-04-02T00:00:00Z", "failed"),
        ("2026-04-04T00:00:00Z", "failed"),
        ("2026-04-06T00:00:00Z", "failed"),
    ]
    renewal = api.get("invoicing", f"/v1/invoices/{renewal['id']}")
    assert (renewal["status"], renewal["void_reason"], renewal["voided_at"]) == (
        "void",
        "dunning_exhausted",
        "2026-04-06T00:00:00Z",
    )
    payments = api.get("invoicing", "/v1/payments", params={"invoice_id": renewal["id"]})["data"]
    assert [p["status"] for p in payments] == ["failed"] * 4
    moved = api.get("subscription", f"/v1/subscriptions/{subscription['id']}")
    assert moved["id"] == subscription["id"]
    assert (moved["status"], moved["plan_code"], moved["on_free_plan"], moved["last_paid_plan_code"]) == (
        "active",
        catalog["free"],
        True,
        catalog["pro"],
    )

    api.patch("subscription", f"/v1/customers/{customer}", {"payment_method": "pm_test_ok"})
    change = api.post(
        "subscription", f"/v1/subscriptions/{subscription['id']}/changes", {"plan_code": catalog["pro"], "when": "now"}
    )
    assert change["new_period"] is True
    assert change["subscription"]["current_period_start"] == "2026-04-06T12:00:00Z"
    api.wait_ready(clock)
    upgraded = api.get("subscription", f"/v1/subscriptions/{subscription['id']}")
    assert (upgraded["plan_code"], upgraded["on_free_plan"], upgraded["status"]) == (catalog["pro"], False, "active")
    assert upgraded["current_period_start"] == "2026-04-06T12:00:00Z"
    assert upgraded["current_period_end"] == "2026-05-06T12:00:00Z"
    invoices = api.invoices(customer_id=customer)
    assert len(invoices) == 3
    back = invoices[-1]
    assert (back["status"], back["total"], back["amount_paid"], back["period_start"]) == (
        "paid",
        4900,
        4900,
        "2026-04-06T12:00:00Z",
    )
    assert api.timeline_types(subscription["id"]) == ["created", "activated", "renewed", "moved_to_free_plan", "changed"]


def test_invoice_numbers_are_gapless_and_sequential(api: TenureClient, catalog):
    clock = api.create_clock("2026-03-01T00:00:00Z")
    for n in range(3):
        customer = api.post(
            "subscription",
            "/v1/customers",
            {
                "email": f"n{n}@example.com",
                "name": "N",
                "currency": "USD",
                "payment_method": "pm_test_ok",
                "test_clock_id": clock,
            },
        )["id"]
        api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": catalog["pro"]})
    api.advance(clock, "2026-05-01T00:00:00Z")
    numbers = sorted(int(i["number"].removeprefix("INV-")) for i in api.all_invoices())
    # Every invoice of the run so far: each number used once, none skipped.
    assert numbers == list(range(1, len(numbers) + 1))
