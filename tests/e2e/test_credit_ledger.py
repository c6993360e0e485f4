"""The credit ledger through the public API: manual notes and gapless numbers, balances, refunds
through the sandbox gateway, void, credits given back when their invoice is voided, and the credits
other lifecycle events owe (cancellation's unused period as a credit or a refund, a downgrade).
"""

from __future__ import annotations

from tests.support.client import TenureClient
from tests.support.credits import balance, credit_notes, manual_note, plan, problem, redeem_credits, refusal, subscribe


def test_manual_notes_balance_refunds_and_void(api: TenureClient):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, _ = subscribe(api, clock, plan(api, "ledger", 1000))
    assert api.get("credit", f"/v1/customers/{customer}/credit-balance") == {
        "customer_id": customer,
        "balances": [{"currency": "USD", "amount": 0, "credit_notes": 0}],
    }
    note = manual_note(api, customer, 5000)
    assert (note["reason"], note["status"], note["amount"], note["remaining"], note["applications"]) == (
        "manual",
        "open",
        5000,
        5000,
        [],
    )
    assert note["issued_at"] == "2026-06-01T00:00:00Z"  # the customer's clock
    body = {"customer_id": customer, "amount": 100, "currency": "EUR", "description": "x"}
    assert refusal(api, "credit", "/v1/credit-notes", body, 422) == "currency_mismatch"
    assert refusal(api, "credit", "/v1/credit-notes", {**body, "currency": "USD", "amount": 10.5}, 422) == "validation_error"
    assert balance(api, customer) == 5000

    refund = api.post("credit", "/v1/refunds", {"credit_note_id": note["id"], "amount": 2000})
    assert (refund["status"], refund["amount"], refund["credit_note_id"]) == ("succeeded", 2000, note["id"])
    note = api.get("credit", f"/v1/credit-notes/{note['id']}")
    assert (note["remaining"], note["refunded"], note["status"]) == (3000, 2000, "partially_applied")
    too_much = {"credit_note_id": note["id"], "amount": 3001}
    assert refusal(api, "credit", "/v1/refunds", too_much, 422) == "refund_exceeds_remaining"
    api.post("credit", "/v1/refunds", {"credit_note_id": note["id"]})  # the rest
    note = api.get("credit", f"/v1/credit-notes/{note['id']}")
    assert (note["remaining"], note["refunded"], note["status"]) == (0, 5000, "refunded")
    assert refusal(api, "credit", "/v1/refunds", {"credit_note_id": note["id"], "amount": 1}, 409) == "credit_note_not_refundable"
    assert refusal(api, "credit", f"/v1/credit-notes/{note['id']}/void", {}, 409) == "credit_note_not_voidable"
    assert [r["amount"] for r in api.get("credit", "/v1/refunds", params={"credit_note_id": note["id"]})["data"]] == [2000, 3000]

    other = manual_note(api, customer, 700)
    voided = api.post("credit", f"/v1/credit-notes/{other['id']}/void")
    assert (voided["status"], voided["remaining"]) == ("void", 0)
    assert api.post("credit", f"/v1/credit-notes/{other['id']}/void")["status"] == "void"  # idempotent
    assert balance(api, customer) == 0
    assert refusal(api, "credit", "/v1/refunds", {"credit_note_id": "cn_missing", "amount": 1}, 404) == "credit_note_not_found"


def test_refund_without_a_payment_method_fails_and_keeps_the_credit(api: TenureClient):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, _ = subscribe(api, clock, plan(api, "nopm", 0), payment_method=None)
    note = manual_note(api, customer, 1500)
    failure = problem(api, "credit", "/v1/refunds", {"credit_note_id": note["id"]}, 402)
    assert failure["code"] == "refund_failed"
    note = api.get("credit", f"/v1/credit-notes/{note['id']}")
    assert (note["remaining"], note["status"]) == (1500, "open")
    [refund] = api.get("credit", "/v1/refunds", params={"credit_note_id": note["id"]})["data"]
    assert (refund["id"], refund["status"], refund["failure_code"]) == (failure["refund_id"], "failed", "no_payment_method")


def test_credit_note_numbers_are_gapless(api: TenureClient):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, _ = subscribe(api, clock, plan(api, "numbers", 1000))
    for amount in (100, 200, 300):
        manual_note(api, customer, amount)
    numbers = [int(n["number"].removeprefix("CN-")) for n in api.list_all("credit", "/v1/credit-notes")]
    assert sorted(numbers) == list(range(1, len(numbers) + 1))


def test_voiding_an_invoice_gives_its_credits_back(api: TenureClient):
    with redeem_credits(api, True):
        monthly = plan(api, "void-back", 30000)
        clock = api.create_clock("2026-06-01T00:00:00Z")
        customer, subscription = subscribe(api, clock, monthly)
        note = manual_note(api, customer, 10000)
        api.patch("subscription", f"/v1/customers/{customer}", {"payment_method": "pm_test_declined"})
        api.advance(clock, "2026-07-01T00:00:00Z")
        renewal = api.invoices(customer_id=customer)[-1]
        assert (renewal["status"], renewal["amount_due"], renewal["credits_applied"]) == (
            "open",
            20000,
            [{"credit_note_id": note["id"], "amount": 10000}],
        )
        assert api.get("credit", f"/v1/credit-notes/{note['id']}")["status"] == "applied"

        api.post("invoicing", f"/v1/invoices/{renewal['id']}/void")
        api.wait_ready(clock)
        note = api.get("credit", f"/v1/credit-notes/{note['id']}")
        assert (note["status"], note["remaining"]) == ("open", 10000)
        [application] = note["applications"]
        assert (application["invoice_id"], application["amount"], application["reversed_at"]) == (
            renewal["id"],
            10000,
            "2026-07-01T00:00:00Z",
        )
        assert api.timeline_types(subscription["id"])[-3:] == ["renewed", "credit_note.applied", "credit_note.restored"]


def test_cancellation_unused_period_as_credit_or_refund(api: TenureClient):
    monthly = plan(api, "cancel-credit", 30000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    credited, first = subscribe(api, clock, monthly)
    refunded, second = subscribe(api, clock, monthly)
    api.advance(clock, "2026-06-21T00:00:00Z")
    api.post("subscription", f"/v1/subscriptions/{first['id']}/cancel", {"when": "now", "unused_amount": "credit"})
    api.post("subscription", f"/v1/subscriptions/{second['id']}/cancel", {"when": "now", "unused_amount": "refund"})
    api.wait_ready(clock)

    [credit] = credit_notes(api, customer_id=credited)
    assert (credit["reason"], credit["amount"], credit["remaining"], credit["status"]) == (
        "cancellation_unused_period",
        10000,
        10000,
        "open",
    )
    assert (credit["period_start"], credit["period_end"]) == ("2026-06-21T00:00:00Z", "2026-07-01T00:00:00Z")
    [refund_note] = credit_notes(api, customer_id=refunded)
    assert (refund_note["reason"], refund_note["amount"], refund_note["remaining"], refund_note["status"]) == (
        "cancellation_unused_period",
        10000,
        0,
        "refunded",
    )
    [refund] = api.get("credit", "/v1/refunds", params={"credit_note_id": refund_note["id"]})["data"]
    assert (refund["status"], refund["amount"]) == ("succeeded", 10000)
    assert api.timeline_types(second["id"])[-3:] == ["cancelled", "credit_note.issued", "refund.issued"]


def test_paused_then_cancelled_credits_from_the_pause_day(api: TenureClient):
    monthly = plan(api, "pause-cancel", 30000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, monthly)
    api.advance(clock, "2026-06-11T00:00:00Z")
    api.post("subscription", f"/v1/subscriptions/{subscription['id']}/pause", {"resume_at": "2026-06-25T00:00:00Z"})
    api.advance(clock, "2026-06-16T00:00:00Z")
    api.post("subscription", f"/v1/subscriptions/{subscription['id']}/cancel", {"when": "now", "unused_amount": "credit"})
    api.advance(clock, "2026-06-26T00:00:00Z")  # the scheduled resume finds it cancelled and does nothing
    assert api.get("subscription", f"/v1/subscriptions/{subscription['id']}")["status"] == "cancelled"
    [note] = credit_notes(api, customer_id=customer)
    assert (note["reason"], note["amount"]) == ("cancellation_unused_period", 20000)  # 20 days from the pause day


def test_downgrade_credit_is_a_credit_note_spent_on_the_change_invoice(api: TenureClient):
    basic, pro = plan(api, "basic", 10000), plan(api, "pro", 30000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, pro)
    api.advance(clock, "2026-06-16T00:00:00Z")
    change = api.post("subscription", f"/v1/subscriptions/{subscription['id']}/changes", {"plan_code": basic, "when": "now"})
    api.wait_ready(clock)
    assert (change["proration"]["net"], change["credit_note_amount"]) == (-10000, 15000)
    # The unused pro days become a note; the basic days charged now are paid from it at once.
    [note] = credit_notes(api, customer_id=customer)
    _, change_invoice = api.invoices(customer_id=customer)
    assert (note["reason"], note["amount"], note["remaining"]) == ("downgrade_proration", 15000, 10000)
    assert note["status"] == "partially_applied"
    assert (change_invoice["total"], change_invoice["amount_due"], change_invoice["status"]) == (5000, 0, "paid")
    assert change_invoice["credits_applied"] == [{"credit_note_id": note["id"], "amount": 5000}]
    assert balance(api, customer) == 10000
