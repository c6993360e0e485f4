"""Invoice numbers stay gapless when invoices are finalized concurrently and some roll back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from tenure_invoicing import service
from tenure_invoicing.models import Invoice
from tenure_shared.events import ChargeLine

AT = datetime(2026, 3, 1, tzinfo=UTC)


async def test_concurrent_invoices_get_consecutive_numbers_and_rollbacks_leave_no_gap(invoicing_db):
    _, sessions = invoicing_db

    async def finalize(n: int) -> None:
        async with sessions() as session:
            async with session.begin():
                await service.issue_invoice(
                    session,
                    customer_id=f"cus_{n}",
                    subscription_id=None,
                    clock_id=None,
                    currency="USD",
                    lines=[ChargeLine(kind="one_time", description="x", unit_amount=100, amount=100)],
                    billing_reason="one_time_charge",
                    at=AT,
                )
                if n % 4 == 0:
                    raise RuntimeError("rolled back after taking a number")

    results = await asyncio.gather(*(finalize(n) for n in range(24)), return_exceptions=True)
    assert sum(isinstance(r, RuntimeError) for r in results) == 6
    async with sessions() as session:
        numbers = sorted((await session.scalars(select(Invoice.number))).all())
    assert numbers == [f"INV-{n:06d}" for n in range(1, 19)]
