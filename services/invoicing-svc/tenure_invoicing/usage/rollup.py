"""Accepted usage onto tenure.usage in aggregated form: one `usage.recorded` per customer per
roll-up (every second or so), never one message per event.

Each accepted batch queued its per-customer, per-metric totals in `usage_rollup_batches` in the same
statement that stored its events. The worker takes the queued rows (`FOR UPDATE SKIP LOCKED`: rows
are taken once they are committed, whatever order their ids were issued in), sums them per customer,
writes the events to the outbox and deletes the rows, all in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenure_invoicing.config import SERVICE
from tenure_invoicing.models import CustomerAccount
from tenure_invoicing.usage.billing import decimal_text
from tenure_invoicing.usage.models import UsageRollupBatch
from tenure_shared.events import USAGE, UsageMetricTotal, UsageRecordedData
from tenure_shared.outbox import add_event

BATCHES_PER_ROLLUP = 1000


def summarize(summaries: list[list[list]]) -> dict[str, UsageRecordedData]:
    """Per customer: events and value totals per metric, first and last usage instants."""
    totals: dict[str, dict[str, list]] = defaultdict(dict)
    spans: dict[str, list[datetime]] = {}
    for summary in summaries:
        for customer_id, metric_code, events, value_total, first_at, last_at in summary:
            metric = totals[customer_id].setdefault(metric_code, [0, Decimal(0)])
            metric[0] += events
            metric[1] += Decimal(value_total)
            first, last = datetime.fromisoformat(first_at), datetime.fromisoformat(last_at)
            span = spans.setdefault(customer_id, [first, last])
            span[0], span[1] = min(span[0], first), max(span[1], last)
    return {
        customer_id: UsageRecordedData(
            customer_id=customer_id,
            metrics=[
                UsageMetricTotal(metric_code=code, events=n, value_total=decimal_text(total))
                for code, (n, total) in sorted(metrics.items())
            ],
            first_timestamp=spans[customer_id][0],
            last_timestamp=spans[customer_id][1],
        )
        for customer_id, metrics in totals.items()
    }


async def publish_usage_rollups(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Roll the queued batch totals up into usage.recorded events; returns how many were written."""
    async with sessions() as session, session.begin():
        rows = (
            await session.scalars(
                select(UsageRollupBatch).order_by(UsageRollupBatch.id).limit(BATCHES_PER_ROLLUP).with_for_update(skip_locked=True)
            )
        ).all()
        if not rows:
            return 0
        per_customer = summarize([row.summary for row in rows])
        clocks = dict(
            (
                await session.execute(
                    select(CustomerAccount.id, CustomerAccount.clock_id).where(CustomerAccount.id.in_(list(per_customer)))
                )
            ).all()
        )
        for customer_id, data in sorted(per_customer.items()):
            await add_event(
                session,
                source=SERVICE,
                topic=USAGE,
                event_type="usage.recorded",
                customer_id=customer_id,
                data=data,
                business_time=data.last_timestamp,
                clock_id=clocks.get(customer_id),
            )
        await session.execute(delete(UsageRollupBatch).where(UsageRollupBatch.id.in_([row.id for row in rows])))
        return len(per_customer)
