"""Reactivation: a cancelled or expired subscription comes back on the same id, or a scheduled
cancellation is withdrawn.

Within the original term the subscription keeps its period end and renewal date and nothing is
invoiced (unless the cancellation paid the unused days back: those are billed again). After the
term a new period starts with an invoice. With settings.reactivation_requires_payment the open
invoices of the subscription are collected first, through invoicing; if that fails nothing changes.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.clock import business_now
from tenure_shared.ids import new_id
from tenure_shared.internal_http import InternalClient, quote_id
from tenure_subscription import repository
from tenure_subscription.charges import remaining_line
from tenure_subscription.errors import ReactivationPaymentFailed, SubscriptionNotReactivatable
from tenure_subscription.models import Customer, Subscription
from tenure_subscription.service import discounts, lifecycle
from tenure_subscription.service.addons import subscription_items
from tenure_subscription.statuses import SubscriptionStatus


async def _collect_unpaid(internal: InternalClient, subscription: Subscription, customer: Customer) -> None:
    """Have invoicing collect every open invoice of the subscription now; refuse if one stays unpaid."""
    result = await internal.request(
        "invoicing",
        "POST",
        f"/internal/subscriptions/{quote_id(subscription.id)}/collect-open-invoices",
        json={"payment_method": customer.payment_method, "attempt_key": new_id("rea")},
    )
    unpaid = [i for i in result["invoices"] if i["status"] != "paid"]
    if unpaid:
        reasons = ", ".join(f"{i['invoice_id']} ({i.get('failure_code') or 'unpaid'})" for i in unpaid)
        raise ReactivationPaymentFailed(
            f"The unpaid amount could not be collected: {reasons}. Nothing changed.",
            invoice_ids=[i["invoice_id"] for i in unpaid],
        )


def _was_trialing(subscription: Subscription) -> bool:
    # A paid period sets the billing anchor; a subscription cancelled in its trial never had one.
    return subscription.billing_anchor is None and subscription.trial_end is not None


def _check_reactivatable(subscription: Subscription) -> bool:
    """Refuse what cannot be reactivated; True when it is a cancellation at period end being withdrawn."""
    withdrawn = subscription.status in ("active", "trialing") and subscription.cancel_at_period_end
    if not withdrawn and subscription.status not in ("cancelled", "expired"):
        raise SubscriptionNotReactivatable(
            f"A {subscription.status} subscription that is not being cancelled cannot be reactivated."
        )
    return withdrawn


async def reactivate_subscription(
    session: AsyncSession,
    *,
    subscription_id: str,
    internal: InternalClient,
    coupon_code: str | None = None,
    promotion_code: str | None = None,
) -> Subscription:
    """Bring a cancelled or expired subscription back, or withdraw a cancellation at end of term."""
    subscription = await repository.get_subscription(session, subscription_id)
    _check_reactivatable(subscription)
    customer = await repository.get_customer(session, subscription.customer_id)
    settings = await repository.get_settings(session)
    if settings.reactivation_requires_payment:
        # Before the subscription is locked: no lock is held while invoicing collects.
        await _collect_unpaid(internal, subscription, customer)
    await session.refresh(subscription, with_for_update=True)
    withdrawn = _check_reactivatable(subscription)  # again: it may have moved on meanwhile
    now = await business_now(session, subscription.clock_id)
    plan = await repository.get_plan(session, subscription.plan_code)
    subscription.cancel_at_period_end = False
    period_end = subscription.current_period_end
    within_term = period_end is not None and now < period_end
    bill_lines = []
    if withdrawn:
        pass  # the renewal (or trial end) is still scheduled and now goes ahead
    elif within_term and _was_trialing(subscription):
        subscription.move_to(SubscriptionStatus.TRIALING)
        await lifecycle.schedule_trial_end(session, subscription)
    elif within_term:
        subscription.move_to(SubscriptionStatus.ACTIVE)
        await lifecycle.schedule_renewal(session, subscription)
        if subscription.cancellation_unused in ("credit", "refund"):
            period_start, period_end = subscription.current_period()
            line = remaining_line(
                await subscription_items(session, subscription, plan),
                period_start=period_start,
                period_end=period_end,
                at=now,
                tz=settings.timezone,
            )
            bill_lines = [line] if line else []
    else:
        subscription.move_to(SubscriptionStatus.ACTIVE)
        bill_lines = await lifecycle._start_period(session, subscription, plan, now)
    subscription.cancelled_at = None
    subscription.cancellation_unused = None
    subscription.cancellation_feedback = subscription.cancellation_comment = None
    if coupon_code or promotion_code:  # a win-back offer covers the period the reactivation bills
        await discounts.redeem(
            session, subscription, coupon_code=coupon_code, promotion_code=promotion_code, starts_at=now, at=now
        )
    await lifecycle.announce(
        session,
        subscription,
        "reactivated",
        now,
        plan=plan,
        customer=customer,
        bill_lines=bill_lines,
        billing_reason="subscription_reactivation",
        details={"within_term": withdrawn or within_term},
    )
    return subscription
