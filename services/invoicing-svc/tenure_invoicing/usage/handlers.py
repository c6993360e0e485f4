"""Usage billing's reactions to catalog and subscription events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_invoicing import service
from tenure_invoicing.config import get_settings
from tenure_invoicing.usage import repository
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
    await service.bill_event(
        session,
        event_id=event.id,
        subscription=subscription,
        own_lines=[],
        billing_reason="subscription_final_usage" if subscription.status in NOT_OWNING else "subscription_usage",
        at=event.time,
        clock_id=event.tenureclock,
        internal=internal_client(get_settings()),
    )
