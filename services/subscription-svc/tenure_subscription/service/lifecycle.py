"""Subscription lifecycle: start, trial end, renewal, plan changes, the free-plan fallback and the
final actions of dunning. Every state change writes a timeline entry and an event in the same
transaction; an event with `bill_lines` asks invoicing to bill them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from tenure_shared.clock import business_now
from tenure_shared.due_work import cancel_job, schedule_job
from tenure_shared.errors import InvalidRequest
from tenure_shared.events import SUBSCRIPTIONS, ChargeLine, SubscriptionData
from tenure_shared.ids import new_id
from tenure_shared.outbox import add_event

from tenure_subscription import repository
from tenure_subscription.billing import period_lines, proration_lines
from tenure_subscription.calendar import period_boundary
from tenure_subscription.config import SERVICE
from tenure_subscription.errors import CurrencyMismatch, PlanArchived, SubscriptionNotChangeable
from tenure_subscription.models import Customer, Plan, Subscription, TimelineEntry
from tenure_subscription.proration import Proration, change_proration
from tenure_subscription.schemas import ChangeIn, SubscriptionIn
from tenure_subscription.service.metrics import metered_charges_for

RENEWAL = "renewal"
TRIAL_END = "trial_end"


def _renewal_key(subscription_id: str) -> str:
    return f"{RENEWAL}:{subscription_id}"


def _trial_key(subscription_id: str) -> str:
    return f"{TRIAL_END}:{subscription_id}"


async def announce(
    session: AsyncSession,
    subscription: Subscription,
    event_type: str,
    at: datetime,
    *,
    plan: Plan,
    customer: Customer,
    bill_lines: Sequence[ChargeLine] = (),
    billing_reason: str | None = None,
    reason: str | None = None,
    details: dict | None = None,
) -> None:
    """Record a lifecycle event on the timeline and publish `subscription.<verb>` with a snapshot."""
    session.add(
        TimelineEntry(
            subscription_id=subscription.id,
            event_type=event_type,
            occurred_at=at,
            data={"plan_code": subscription.plan_code, "status": subscription.status, **(details or {})},
        )
    )
    await add_event(
        session,
        source=SERVICE,
        topic=SUBSCRIPTIONS,
        event_type=f"subscription.{event_type}",
        customer_id=subscription.customer_id,
        data=SubscriptionData(
            id=subscription.id,
            customer_id=subscription.customer_id,
            status=subscription.status,
            plan_code=subscription.plan_code,
            plan_amount=plan.amount,
            currency=plan.currency,
            quantity=subscription.quantity,
            current_period_start=subscription.current_period_start,
            current_period_end=subscription.current_period_end,
            on_free_plan=subscription.on_free_plan,
            last_paid_plan_code=subscription.last_paid_plan_code,
            payment_method=customer.payment_method,
            bill_lines=list(bill_lines),
            billing_reason=billing_reason,
            reason=reason,
            metered_charges=await metered_charges_for(session, plan),
        ),
        business_time=at,
        clock_id=subscription.clock_id,
    )


async def _account_timezone(session: AsyncSession) -> str:
    return (await repository.get_settings(session)).timezone


async def _start_period(session: AsyncSession, subscription: Subscription, plan: Plan, start: datetime) -> list[ChargeLine]:
    """Begin a fresh period at `start` (a new billing anchor); schedule its renewal; return its lines."""
    tz = await _account_timezone(session)
    subscription.billing_anchor = start
    subscription.period_index = 0
    subscription.current_period_start = start
    subscription.current_period_end = period_boundary(start, plan.interval, plan.interval_count, 1, tz)
    await schedule_job(
        session,
        kind=RENEWAL,
        key=_renewal_key(subscription.id),
        due_at=subscription.current_period_end,
        clock_id=subscription.clock_id,
        payload={"subscription_id": subscription.id},
    )
    return period_lines(
        plan_name=plan.name,
        plan_amount=plan.amount,
        quantity=subscription.quantity,
        start=subscription.current_period_start,
        end=subscription.current_period_end,
    )


def _usable_plan(plan: Plan, customer: Customer) -> Plan:
    if plan.archived:
        raise PlanArchived(f"Plan {plan.code!r} is archived.")
    if plan.currency != customer.currency:
        raise CurrencyMismatch(f"Plan {plan.code!r} is in {plan.currency}; the customer pays in {customer.currency}.")
    return plan


async def create_subscription(session: AsyncSession, *, data: SubscriptionIn) -> Subscription:
    """Subscribe a customer: a trial, or an active period billed at once."""
    customer = await repository.get_customer(session, data.customer_id, for_update=True)
    plan = _usable_plan(await repository.get_plan(session, data.plan_code), customer)
    if data.addons:
        raise InvalidRequest("Add-ons are not supported yet.", code="addons_not_supported")
    now = await business_now(session, customer.test_clock_id)
    start = data.start_at or now
    if start > now:
        raise InvalidRequest("start_at may not lie in the future.", code="start_in_future")
    trial_days = plan.trial_days if data.trial_days is None else data.trial_days
    subscription = Subscription(
        id=new_id("sub"),
        customer_id=customer.id,
        clock_id=customer.test_clock_id,
        plan_code=plan.code,
        quantity=data.quantity,
        status="trialing" if trial_days and plan.amount else "active",
        on_free_plan=plan.amount == 0,
    )
    session.add(subscription)
    await session.flush()
    if subscription.status == "trialing":
        subscription.trial_end = start + timedelta(days=trial_days)
        subscription.current_period_start, subscription.current_period_end = start, subscription.trial_end
        await schedule_job(
            session, kind=TRIAL_END, key=_trial_key(subscription.id), due_at=subscription.trial_end,
            clock_id=subscription.clock_id, payload={"subscription_id": subscription.id},
        )
        await announce(session, subscription, "created", start, plan=plan, customer=customer)
        return subscription
    lines = await _start_period(session, subscription, plan, start)
    await announce(session, subscription, "created", start, plan=plan, customer=customer)
    await announce(
        session, subscription, "activated", start, plan=plan, customer=customer,
        bill_lines=lines, billing_reason="subscription_create",
    )
    return subscription


async def end_trial(session: AsyncSession, *, subscription_id: str, at: datetime) -> None:
    """Trial over: convert with a payment method, else follow settings.trial_end_action."""
    subscription = await repository.get_subscription(session, subscription_id, for_update=True)
    if subscription.status != "trialing":
        return
    customer = await repository.get_customer(session, subscription.customer_id)
    plan = await repository.get_plan(session, subscription.plan_code)
    subscription.trial_end = at
    if customer.payment_method:
        subscription.status = "active"
        await announce(session, subscription, "trial_ended", at, plan=plan, customer=customer)
        lines = await _start_period(session, subscription, plan, at)
        await announce(
            session, subscription, "activated", at, plan=plan, customer=customer,
            bill_lines=lines, billing_reason="trial_converted",
        )
        return
    settings = await repository.get_settings(session)
    await announce(session, subscription, "trial_ended", at, plan=plan, customer=customer)
    if settings.trial_end_action == "move_to_free_plan" and settings.free_plan_code:
        await move_to_free_plan(session, subscription=subscription, at=at, reason="trial_ended_without_payment_method")
    else:
        await cancel_now(session, subscription=subscription, at=at, reason="trial_ended_without_payment_method")


async def renew(session: AsyncSession, *, subscription_id: str, due_at: datetime) -> None:
    """Period end: start the next period and bill it, or expire if cancellation was asked for."""
    subscription = await repository.get_subscription(session, subscription_id, for_update=True)
    if subscription.status != "active" or subscription.current_period_end != due_at:
        return  # paused, cancelled or moved since this renewal was scheduled
    customer = await repository.get_customer(session, subscription.customer_id)
    plan = await repository.get_plan(session, subscription.plan_code)
    if subscription.cancel_at_period_end:
        subscription.status = "expired"
        await announce(session, subscription, "expired", due_at, plan=plan, customer=customer)
        return
    tz = await _account_timezone(session)
    subscription.period_index += 1
    subscription.current_period_start = due_at
    subscription.current_period_end = period_boundary(
        subscription.billing_anchor, plan.interval, plan.interval_count, subscription.period_index + 1, tz
    )
    await schedule_job(
        session, kind=RENEWAL, key=_renewal_key(subscription.id), due_at=subscription.current_period_end,
        clock_id=subscription.clock_id, payload={"subscription_id": subscription.id},
    )
    lines = period_lines(
        plan_name=plan.name, plan_amount=plan.amount, quantity=subscription.quantity,
        start=subscription.current_period_start, end=subscription.current_period_end,
    )
    await announce(
        session, subscription, "renewed", due_at, plan=plan, customer=customer,
        bill_lines=lines, billing_reason="subscription_cycle",
    )


async def move_to_free_plan(session: AsyncSession, *, subscription: Subscription, at: datetime, reason: str) -> None:
    """Keep the customer (same subscription id) on the account's free plan from `at`."""
    settings = await repository.get_settings(session)
    free_plan = await repository.get_plan(session, settings.free_plan_code)
    customer = await repository.get_customer(session, subscription.customer_id)
    if not subscription.on_free_plan:
        subscription.last_paid_plan_code = subscription.plan_code
    subscription.plan_code = free_plan.code
    subscription.on_free_plan = True
    subscription.status = "active"
    subscription.unpaid = False
    subscription.cancel_at_period_end = False
    subscription.quantity = 1
    await _start_period(session, subscription, free_plan, at)
    await announce(
        session, subscription, "moved_to_free_plan", at, plan=free_plan, customer=customer,
        reason=reason, details={"last_paid_plan_code": subscription.last_paid_plan_code, "reason": reason},
    )


async def cancel_now(session: AsyncSession, *, subscription: Subscription, at: datetime, reason: str) -> None:
    """End the subscription at `at`; nothing more is billed."""
    customer = await repository.get_customer(session, subscription.customer_id)
    plan = await repository.get_plan(session, subscription.plan_code)
    subscription.status = "cancelled"
    subscription.cancelled_at = at
    await cancel_job(session, key=_renewal_key(subscription.id))
    await cancel_job(session, key=_trial_key(subscription.id))
    await announce(session, subscription, "cancelled", at, plan=plan, customer=customer, reason=reason, details={"reason": reason})


async def apply_dunning_final_action(session: AsyncSession, *, subscription_id: str, final_action: str, at: datetime) -> None:
    """Dunning gave up on an invoice: free plan, cancellation, or flag the subscription unpaid."""
    subscription = await repository.get_subscription(session, subscription_id, for_update=True)
    if subscription.status in ("cancelled", "expired"):
        return
    settings = await repository.get_settings(session)
    if final_action == "move_to_free_plan" and settings.free_plan_code:
        await move_to_free_plan(session, subscription=subscription, at=at, reason="dunning_exhausted")
    elif final_action in ("move_to_free_plan", "cancel"):
        # Without a configured free plan the only safe fallback is cancellation.
        await cancel_now(session, subscription=subscription, at=at, reason="dunning_exhausted")
    else:
        subscription.unpaid = True
        customer = await repository.get_customer(session, subscription.customer_id)
        plan = await repository.get_plan(session, subscription.plan_code)
        await announce(session, subscription, "marked_unpaid", at, plan=plan, customer=customer, reason="dunning_exhausted")


@dataclass(frozen=True)
class ChangePlan:
    """What a change would do: the proration figures and the lines billed now."""

    subscription: Subscription
    new_plan: Plan
    quantity: int
    proration: Proration | None
    lines: list[ChargeLine]
    effective_at: datetime
    new_period: bool


async def _plan_change(session: AsyncSession, subscription: Subscription, change: ChangeIn, now: datetime) -> ChangePlan:
    if subscription.status != "active":
        raise SubscriptionNotChangeable(f"A {subscription.status} subscription cannot be changed.")
    if change.when != "now":
        raise InvalidRequest("Changes at end of term are not supported yet.", code="change_timing_not_supported")
    if change.plan_code is None and change.quantity is None:
        raise InvalidRequest("Give plan_code and/or quantity.", code="empty_change")
    customer = await repository.get_customer(session, subscription.customer_id)
    old_plan = await repository.get_plan(session, subscription.plan_code)
    new_plan = _usable_plan(await repository.get_plan(session, change.plan_code or old_plan.code), customer)
    quantity = change.quantity or subscription.quantity
    from_free = old_plan.amount == 0 and new_plan.amount > 0
    new_interval = (new_plan.interval, new_plan.interval_count) != (old_plan.interval, old_plan.interval_count)
    tz = await _account_timezone(session)
    if from_free or new_interval:
        # A fresh paid period starts today; an unused paid old period is credited.
        end = period_boundary(now, new_plan.interval, new_plan.interval_count, 1, tz)
        lines = period_lines(plan_name=new_plan.name, plan_amount=new_plan.amount, quantity=quantity, start=now, end=end)
        proration = None
        if not from_free:
            proration = change_proration(
                old_amount=old_plan.amount * subscription.quantity, new_amount=0,
                period_start=subscription.current_period_start, period_end=subscription.current_period_end,
                change_at=now, tz=tz,
            )
            lines = proration_lines(
                old_plan_name=old_plan.name, new_plan_name=new_plan.name, proration=proration,
                start=now, end=subscription.current_period_end,
            ) + lines
        return ChangePlan(subscription, new_plan, quantity, proration, lines, now, True)
    settings = await repository.get_settings(session)
    proration = change_proration(
        old_amount=old_plan.amount * subscription.quantity, new_amount=new_plan.amount * quantity,
        period_start=subscription.current_period_start, period_end=subscription.current_period_end,
        change_at=now, tz=tz,
    )
    lines = []
    if settings.proration == "immediate":
        lines = proration_lines(
            old_plan_name=old_plan.name, new_plan_name=new_plan.name, proration=proration,
            start=now, end=subscription.current_period_end,
        )
    elif settings.proration == "next_invoice":
        raise InvalidRequest("proration next_invoice is not supported yet.", code="proration_mode_not_supported")
    return ChangePlan(subscription, new_plan, quantity, proration if settings.proration != "none" else None, lines, now, False)


async def preview_change(session: AsyncSession, *, subscription_id: str, change: ChangeIn) -> ChangePlan:
    """What the change would bill, without changing anything."""
    subscription = await repository.get_subscription(session, subscription_id)
    now = await business_now(session, subscription.clock_id)
    return await _plan_change(session, subscription, change, now)


async def change_subscription(session: AsyncSession, *, subscription_id: str, change: ChangeIn) -> ChangePlan:
    """Change plan and/or quantity now, billing the proration or the new period at once."""
    subscription = await repository.get_subscription(session, subscription_id, for_update=True)
    now = await business_now(session, subscription.clock_id)
    planned = await _plan_change(session, subscription, change, now)
    customer = await repository.get_customer(session, subscription.customer_id)
    old_plan_code = subscription.plan_code
    subscription.plan_code = planned.new_plan.code
    subscription.quantity = planned.quantity
    subscription.on_free_plan = planned.new_plan.amount == 0
    subscription.unpaid = False
    if planned.new_period:
        await _start_period(session, subscription, planned.new_plan, now)
    await announce(
        session, subscription, "changed", now, plan=planned.new_plan, customer=customer,
        bill_lines=[line for line in planned.lines if line.amount], billing_reason="subscription_update",
        details={"from_plan_code": old_plan_code, "quantity": planned.quantity, "new_period": planned.new_period},
    )
    return planned
