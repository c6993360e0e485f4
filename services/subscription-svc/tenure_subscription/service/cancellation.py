"""Cancellation: now, with the unused part of the paid period credited, refunded or kept as asked, or
at the end of the term (`cancel_at_period_end`: the renewal expires the subscription instead)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.clock import business_now
from tenure_shared.events import CreditRequest
from tenure_shared.ids import new_id
from tenure_subscription import repository
from tenure_subscription.charges import remaining_value
from tenure_subscription.errors import SubscriptionAlreadyCancelled, SubscriptionNotCancellable
from tenure_subscription.models import Subscription
from tenure_subscription.schemas import CancelIn
from tenure_subscription.service import discounts, lifecycle, pausing, scheduled_changes
from tenure_subscription.service.addons import subscription_items


def _record_details(subscription: Subscription, data: CancelIn) -> None:
    details = data.cancellation_details
    subscription.cancellation_feedback = details.feedback if details else None
    subscription.cancellation_comment = details.comment if details else None


async def cancel_subscription(session: AsyncSession, *, subscription_id: str, data: CancelIn) -> Subscription:
    """Cancel now or at the end of the term."""
    subscription = await repository.get_subscription(session, subscription_id, for_update=True)
    if subscription.status in ("cancelled", "expired"):
        raise SubscriptionAlreadyCancelled(f"Subscription {subscription.id} is {subscription.status} already.")
    now = await business_now(session, subscription.clock_id)
    customer = await repository.get_customer(session, subscription.customer_id)
    plan = await repository.get_plan(session, subscription.plan_code)
    if data.when == "end_of_term":
        if subscription.status not in ("active", "trialing"):
            raise SubscriptionNotCancellable(f"A {subscription.status} subscription has no running term; cancel it now.")
        if subscription.cancel_at_period_end:
            return subscription  # asked for already
        _record_details(subscription, data)
        dropped = [c["id"] for c in scheduled_changes.pending(subscription)]
        subscription.cancel_at_period_end = True
        subscription.scheduled_changes = []  # they would never take effect
        await lifecycle.announce(
            session,
            subscription,
            "cancellation_scheduled",
            now,
            plan=plan,
            customer=customer,
            details={"cancel_at": subscription.current_period()[1].isoformat(), "dropped_scheduled_changes": dropped},
        )
        return subscription
    _record_details(subscription, data)
    credit_requests = []
    refund = data.unused_amount == "refund"
    if data.unused_amount != "none" and subscription.status == "paused" and not subscription.unpaid:
        # Paused: the unused paid days run from the pause day to the period end; credit-svc prices the window.
        plan_window = await pausing.pause_window(
            session, subscription, pause_at=pausing.pause_start(subscription), resume_at=None
        )
        credit_requests.append(
            CreditRequest(
                key=f"cancellation:{subscription.id}:{new_id('cxl')}",
                reason="cancellation_unused_period",
                currency=plan.currency,
                description=f"Unused {plan.name} after cancellation (paused)",
                pause=plan_window,
                refund=refund,
            )
        )
    # Only a running, paid period has unused days to give back (a trial or an unpaid period has none).
    if data.unused_amount != "none" and subscription.status == "active" and not subscription.unpaid:
        tz = (await repository.get_settings(session)).timezone
        start, end = subscription.current_period()
        amount = remaining_value(
            await subscription_items(session, subscription, plan),
            period_start=start,
            period_end=end,
            at=now,
            tz=tz,
            period_amount=await discounts.period_amount(session, subscription, plan, start, end),  # what it cost
        )
        if amount:
            credit_requests.append(
                CreditRequest(
                    key=f"cancellation:{subscription.id}:{new_id('cxl')}",
                    reason="cancellation_unused_period",
                    currency=plan.currency,
                    description=f"Unused {plan.name} after cancellation",
                    amount=amount,
                    period_start=now,
                    period_end=subscription.current_period_end,
                    refund=refund,
                )
            )
    subscription.cancellation_unused = data.unused_amount if credit_requests else "none"
    # What was kept for the next invoice (proration next_invoice) is still owed; a trial owes nothing.
    owed = [] if subscription.status == "trialing" else lifecycle.take_pending_lines(subscription)
    subscription.pause_at = subscription.resume_at = None  # a pending pause or resume no longer applies
    await lifecycle.cancel_now(
        session, subscription=subscription, at=now, reason="requested", bill_lines=owed, credit_requests=credit_requests
    )
    return subscription
