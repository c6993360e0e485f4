"""The retention offer: the account's `retention_coupon_code`, offered to a customer about to cancel,
once per subscription. Taking it puts the coupon on the subscription from its next period on, like
`POST /v1/subscriptions/{id}/discounts`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.clock import business_now
from tenure_shared.errors import TenureError
from tenure_subscription import repository
from tenure_subscription.errors import NoRetentionOffer
from tenure_subscription.models import Coupon, Subscription
from tenure_subscription.service import discounts
from tenure_subscription.statuses import SubscriptionStatus


async def offer(session: AsyncSession, subscription: Subscription) -> Coupon:
    """The coupon this subscription would be offered now; NoRetentionOffer when there is none."""
    code = (await repository.get_settings(session)).retention_coupon_code
    if code is None:
        raise NoRetentionOffer("No retention offer is set up for this account.")
    if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING) or subscription.cancel_at_period_end:
        raise NoRetentionOffer(f"Subscription {subscription.id} is not running: there is nothing to keep.")
    if any(d.coupon_code == code for d in subscription.discounts):
        raise NoRetentionOffer(f"Subscription {subscription.id} has had the retention offer already.")
    now = await business_now(session, subscription.clock_id)
    try:
        await discounts.redeemable(
            session, subscription, coupon_code=code, promotion_code=None, starts_at=subscription.current_period()[1], at=now
        )
    except TenureError as refusal:  # archived, expired, used up, not for this plan or currency
        raise NoRetentionOffer(f"The retention offer does not apply: {refusal.detail}") from refusal
    return await discounts.get_coupon(session, code)


async def get_offer(session: AsyncSession, *, subscription_id: str) -> Coupon:
    return await offer(session, await repository.get_subscription(session, subscription_id))


async def accept_offer(session: AsyncSession, *, subscription_id: str) -> Subscription:
    subscription = await repository.get_subscription(session, subscription_id, for_update=True)
    coupon = await offer(session, subscription)
    return await discounts.apply_discount(session, subscription_id=subscription.id, coupon_code=coupon.code, promotion_code=None)
