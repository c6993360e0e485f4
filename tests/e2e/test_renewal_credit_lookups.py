"""invoicing asks credit-svc to spend credits only when the customer has some: a flat plan's renewals
for a customer without credit make no request to credit-svc (none of its apply keys names their
invoices), and a credit granted later is spent on the next renewal, as before."""

from __future__ import annotations

import asyncio

from tenure_shared.db import connect_raw, service_database_url
from tests.support.client import TenureClient
from tests.support.credits import balance, manual_note, plan, subscribe


def _apply_requests(stack, invoice_ids: list[str]) -> set[str]:
    """The invoices credit-svc was asked to spend credits on (every ask claims its apply key first)."""

    async def read() -> set[str]:
        connection = await connect_raw(service_database_url(stack.database_url, "credit", stack.database_prefix))
        try:
            rows = await connection.fetch("SELECT invoice_id FROM credit_apply_requests WHERE invoice_id = ANY($1)", invoice_ids)
        finally:
            await connection.close()
        return {r["invoice_id"] for r in rows}

    return asyncio.run(read())


def test_renewals_without_credit_do_not_ask_credit_svc_and_a_later_credit_is_spent(stack, api: TenureClient):
    clock = api.create_clock("2026-01-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, plan(api, "flat", 1000))
    api.advance(clock, "2026-03-01T00:00:00Z")
    invoices = api.all_invoices(subscription_id=subscription["id"])
    assert len(invoices) == 3 and all(i["status"] == "paid" and i["amount_due"] == 1000 for i in invoices)
    assert _apply_requests(stack, [i["id"] for i in invoices]) == set()

    manual_note(api, customer, 300)
    api.advance(clock, "2026-04-01T00:00:00Z")
    renewal = next(i for i in api.all_invoices(subscription_id=subscription["id"]) if i["period_start"] == "2026-04-01T00:00:00Z")
    assert (renewal["total"], renewal["amount_due"]) == (1000, 700)
    assert _apply_requests(stack, [renewal["id"]]) == {renewal["id"]}
    assert balance(api, customer) == 0

    api.advance(clock, "2026-05-01T00:00:00Z")  # the credit's applied event told invoicing nothing is left
    may = next(i for i in api.all_invoices(subscription_id=subscription["id"]) if i["period_start"] == "2026-05-01T00:00:00Z")
    assert may["amount_due"] == 1000 and _apply_requests(stack, [may["id"]]) == set()
