"""The next renewal as it would bill now, for invoicing-svc's upcoming invoice.

The renewal itself (`lifecycle.renew`: scheduled changes, discounts, pending lines) runs in a
savepoint that is rolled back, and the `subscription.renewed` event it would publish is read back:
the preview and the real renewal are the same code, so they cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.events import SubscriptionData
from tenure_shared.outbox import OutboxMessage
from tenure_subscription import repository
from tenure_subscription.errors import SubscriptionNotRenewing
from tenure_subscription.service import lifecycle


async def next_renewal(session: AsyncSession, *, subscription_id: str) -> tuple[SubscriptionData, datetime, str | None]:
    """The `subscription.renewed` data the next renewal would publish, its time and clock."""
    subscription = await repository.get_subscription(session, subscription_id)
    if not subscription.renews:
        raise SubscriptionNotRenewing(
            f"Subscription {subscription_id} is {subscription.status}"
            f"{' and cancels at the end of its period' if subscription.cancel_at_period_end else ''}; it does not renew."
        )
    due_at, clock_id = subscription.current_period()[1], subscription.clock_id
    async with session.begin_nested() as preview:
        await lifecycle.renew(session, subscription_id=subscription_id, due_at=due_at)
        await session.flush()
        envelope = await session.scalar(
            select(OutboxMessage.envelope)
            .where(OutboxMessage.event_type == "subscription.renewed", OutboxMessage.published_at.is_(None))
            .where(OutboxMessage.envelope["data"]["id"].astext == subscription_id)
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
        await preview.rollback()
    # An active subscription that does not cancel renews at its period end: the preview published it.
    assert envelope is not None
    return SubscriptionData.model_validate(envelope["data"]), due_at, clock_id
