"""One credit can never be spent twice, even when invoices for the same customer are finalized at
the same moment.

Invoicing spends credits through credit-svc's `POST /internal/credits/apply` while it creates an
invoice; here many such calls for different invoices hit one credit note at once, as concurrent
invoice finalizations would. Then two subscriptions of one customer renew at the same instant
against one credit note through the whole stack, and the database itself refuses a negative
remainder.
"""

from __future__ import annotations

import asyncio
import threading

import asyncpg
import httpx
import pytest

from tenure_shared.db import connect_raw, service_database_url
from tests.support.client import TenureClient
from tests.support.credits import balance, credit_notes, manual_note, plan, redeem_credits, subscribe

CONCURRENT_INVOICES = 12


def _apply(stack, body: dict) -> dict:
    response = httpx.post(
        stack.url("credit") + "/internal/credits/apply",
        json=body,
        headers={"Authorization": f"Bearer {stack.internal_token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _at_once(calls) -> list:
    """Run the calls in threads released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i: int, call) -> None:
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _apply_body(customer: str, key: str, amount: int) -> dict:
    return {
        "apply_key": key,
        "customer_id": customer,
        "invoice_id": f"inv_{key}",
        "currency": "USD",
        "amount": amount,
        "at": "2026-06-01T00:00:00Z",
        "redeem_all": True,
    }


def test_concurrent_invoices_never_spend_one_credit_twice(api: TenureClient, stack):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, _ = subscribe(api, clock, plan(api, "race", 1000))
    note = manual_note(api, customer, 10000)
    keys = [api.unique("race") for _ in range(CONCURRENT_INVOICES)]
    answers = _at_once([lambda k=k: _apply(stack, _apply_body(customer, k, 3000)) for k in keys])

    applied = [a["amount_applied"] for a in answers]
    assert sum(applied) == 10000  # 3 invoices fully covered, one partly, the rest get nothing
    assert all(0 <= a <= 3000 for a in applied)
    assert sorted(applied, reverse=True)[:4] == [3000, 3000, 3000, 1000]
    note = api.get("credit", f"/v1/credit-notes/{note['id']}")
    assert (note["remaining"], note["status"]) == (0, "applied")
    assert sum(a["amount"] for a in note["applications"]) == 10000
    assert sorted(a["invoice_id"] for a in note["applications"]) == sorted(
        f"inv_{k}" for k, a in zip(keys, applied, strict=True) if a
    )
    assert balance(api, customer) == 0

    # A repeated apply_key (a retried invoice) returns the first answer and spends nothing more.
    first = next(k for k, a in zip(keys, applied, strict=True) if a == 3000)
    again = _apply(stack, _apply_body(customer, first, 3000))
    assert again["amount_applied"] == 3000
    assert api.get("credit", f"/v1/credit-notes/{note['id']}")["remaining"] == 0


def test_twin_retries_of_one_invoice_apply_once(api: TenureClient, stack):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, _ = subscribe(api, clock, plan(api, "twin", 1000))
    note = manual_note(api, customer, 5000)
    key = api.unique("twin")
    answers = _at_once([lambda: _apply(stack, _apply_body(customer, key, 2000)) for _ in range(6)])
    assert {a["amount_applied"] for a in answers} == {2000}
    assert {tuple((x["credit_note_id"], x["amount"]) for x in a["applications"]) for a in answers} == {((note["id"], 2000),)}
    assert api.get("credit", f"/v1/credit-notes/{note['id']}")["remaining"] == 3000


def test_two_renewals_at_the_same_instant_share_one_credit(api: TenureClient):
    with redeem_credits(api, True):
        monthly = plan(api, "twin-renewal", 30000)
        clock = api.create_clock("2026-06-01T00:00:00Z")
        customer, first = subscribe(api, clock, monthly)
        second = api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": monthly})
        api.wait_ready(clock)
        note = manual_note(api, customer, 40000)
        api.advance(clock, "2026-07-01T00:00:00Z")
        renewals = [i for i in api.invoices(customer_id=customer) if i["period_start"] == "2026-07-01T00:00:00Z"]
        assert len(renewals) == 2 and {i["subscription_id"] for i in renewals} == {first["id"], second["id"]}
        assert sorted(sum(c["amount"] for c in i["credits_applied"]) for i in renewals) == [10000, 30000]
        assert sorted(i["amount_due"] for i in renewals) == [0, 20000]
        assert all(i["status"] == "paid" for i in renewals)
        [note] = [n for n in credit_notes(api, customer_id=customer) if n["id"] == note["id"]]
        assert (note["remaining"], note["status"]) == (0, "applied")


@pytest.mark.parametrize("remaining", [-1, 40001])
def test_the_database_refuses_a_remainder_outside_the_note(stack, api: TenureClient, remaining: int):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, _ = subscribe(api, clock, plan(api, "check", 1000))
    note = manual_note(api, customer, 40000)

    async def overspend() -> None:
        url = service_database_url(stack.database_url, "credit", stack.database_prefix)
        connection = await connect_raw(url)
        try:
            await connection.execute("UPDATE credit_notes SET remaining = $1 WHERE id = $2", remaining, note["id"])
        finally:
            await connection.close()

    with pytest.raises(asyncpg.CheckViolationError):
        asyncio.run(overspend())
    assert api.get("credit", f"/v1/credit-notes/{note['id']}")["remaining"] == 40000
