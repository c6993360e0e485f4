"""Usage billing's reactions to catalog and subscription events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_invoicing import service
from tenure_invoicing.config import get_settings
from tenure_invoicing.usage import billing, repository
from tenure_invoicing.usage.periods import NOT_OWNING
from tenure_shared.events import CloudEvent, MetricData, SubscriptionData
from tenure_shared.internal_http import internal_client


async def on_metric_created(session: AsyncSession, event: CloudEvent) -> None:
    metric = MetricData.model_validate(event.data)
    await repository.upsert_metric(
        session, code=metric.code, name=metric.name, aggregation=metric.aggregation, prop=metric.property
    )


async def on_subscription_tracked(session: AsyncSession, event: CloudEvent) -> None:
    """Keep the plan in force; when the event starts a new period or ends the subscription, the
    usage up to then is invoiced at once (an event that bills nothing else)."""
    subscription = SubscriptionData.model_validate(event.data)
    bill = await billing.bill_usage(session, subscription=subscription, at=event.time, clock_id=event.tenureclock)
    invoice = None
    if any(item.amount for item in bill.items):
        invoice = await service.bill_subscription_event(
            session,
            event_id=event.id,
            customer_id=subscription.customer_id,
            subscription_id=subscription.id,
            clock_id=event.tenureclock,
            currency=subscription.currency,
            lines=bill.after([]),
            billing_reason="subscription_final_usage" if subscription.status in NOT_OWNING else "subscription_usage",
            payment_method=subscription.payment_method,
            at=event.time,
            redeem_credits=subscription.redeem_credits,
            credit_requests=subscription.credit_requests,
            internal=internal_client(get_settings()),
        )
    await billing.record_billed(session, bill, invoice=invoice, source_event_id=event.id, at=event.time)
