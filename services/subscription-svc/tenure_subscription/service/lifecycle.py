"""Subscription lifecycle: start, trial end, renewal (applying scheduled changes first), the free-plan
fallback and the final actions of dunning. Every state change writes a timeline entry and an event in
the same transaction; an event with `bill_lines` asks invoicing to bill them, its `credit_requests`
ask credit-svc for credit notes. Changes, cancellation and reactivation have modules of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.clock import business_now
from tenure_shared.due_work import cancel_job, schedule_job
from tenure_shared.errors import InvalidRequest
from tenure_shared.events import SUBSCRIPTION_VERBS, SUBSCRIPTIONS, ChargeLine, CreditRequest, NextRenewalData, SubscriptionData
from tenure_shared.ids import new_id
from tenure_shared.outbox import add_event
from tenure_subscription import repository
from tenure_subscription.calendar import period_boundary
from tenure_subscription.charges import Item, one_time_lines, period_lines
from tenure_subscription.config import SERVICE
from tenure_subscription.discounts import DiscountUse
from tenure_subscription.errors import CurrencyMismatch, PlanArchived
from tenure_subscription.models import Customer, Plan, Subscription, TimelineEntry
from tenure_subscription.schemas import SubscriptionIn
from tenure_subscription.service import discounts, reminders, scheduled_changes
from tenure_subscription.service.addons import addon_items, plan_item, select_addons, subscription_items
from tenure_subscription.service.metrics import metered_charges_for
from tenure_subscription.statuses import SubscriptionStatus

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
    credit_requests: Sequence[CreditRequest] = (),
    expected_amount: int | None = None,
) -> None:
    """Record a lifecycle event on the timeline and publish `subscription.<verb>` with a snapshot."""
    if event_type not in SUBSCRIPTION_VERBS:
        raise ValueError(f"subscription.{event_type} is not a published event type (tenure_shared.events)")
    settings = await repository.get_settings(session)
    # Every invoice a subscription event asks for carries its discounts (one line per discount).
    reductions, uses = discounts.discount_lines(subscription, bill_lines)
    bill_lines = [*bill_lines, *reductions]
    items = await subscription_items(session, subscription, plan)
    session.add(
        TimelineEntry(
            subscription_id=subscription.id,
            event_type=event_type,
            occurred_at=at,
            data={"plan_code": subscription.plan_code, "status": subscription.status, **(details or {})},
        )
    )
    event = await add_event(
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
            credit_requests=list(credit_requests),
            redeem_credits=settings.redeem_credits,
            metered_charges=await metered_charges_for(session, plan),
            discounts=[
                discounts.discount_data(d) for d in discounts.running(subscription) if discounts.is_listed(d, subscription)
            ],
            recurring_amount=sum(item.amount for item in items),
            recurring_amount_after_discounts=_current_period_after_discounts(subscription, items, uses),
            plan_interval=plan.interval,
            plan_interval_count=plan.interval_count,
            next_renewal=await _next_renewal(session, subscription, plan, uses),
            expected_amount=expected_amount,
            cancellation_details=subscription.cancellation_details(),
        ),
        business_time=at,
        clock_id=subscription.clock_id,
    )
    discounts.record_uses(subscription, uses, event_id=event.id)


def _current_period_after_discounts(subscription: Subscription, items: Sequence[Item], billing: Sequence[DiscountUse]) -> int:
    start, end = subscription.current_period_start, subscription.current_period_end
    if start is None or end is None:  # no period in force: nothing a discount could cover
        return sum(item.amount for item in items)
    return discounts.recurring_after_discounts(subscription, items, start=start, end=end, billing=billing)


async def _next_renewal(
    session: AsyncSession, subscription: Subscription, plan: Plan, billing: Sequence[DiscountUse]
) -> NextRenewalData | None:
    """The next renewal's recurring charges with the pending scheduled changes in force (None without any)."""
    change = scheduled_changes.merge(scheduled_changes.pending(subscription))
    if change is None:
        return None
    next_plan = await repository.get_plan(session, change["plan_code"]) if change.get("plan_code") else plan
    quantity = change.get("quantity") or subscription.quantity
    addons = change["addons"] if change.get("addons") is not None else subscription.addons or []
    items = [plan_item(next_plan, quantity), *await addon_items(session, addons)]
    start = subscription.current_period_end
    assert start is not None  # changes are scheduled for the end of a period
    end = period_boundary(start, next_plan.interval, next_plan.interval_count, 1, await _account_timezone(session))
    after_discounts = discounts.recurring_after_discounts(subscription, items, start=start, end=end, billing=billing)
    return NextRenewalData(
        plan_code=next_plan.code,
        recurring_amount=sum(item.amount for item in items),
        recurring_amount_after_discounts=after_discounts,
        interval=next_plan.interval,
        interval_count=next_plan.interval_count,
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
    await schedule_renewal(session, subscription)
    items = await subscription_items(session, subscription, plan)
    return period_lines(items, start=subscription.current_period_start, end=subscription.current_period_end)


async def schedule_renewal(session: AsyncSession, subscription: Subscription) -> None:
    """(Re)schedule the renewal at the end of the current period."""
    await schedule_job(
        session,
        kind=RENEWAL,
        key=_renewal_key(subscription.id),
        due_at=subscription.current_period()[1],
        clock_id=subscription.clock_id,
        payload={"subscription_id": subscription.id},
    )
    await reminders.schedule_renewal_reminders(session, subscription)


async def schedule_trial_end(session: AsyncSession, subscription: Subscription) -> None:
    assert subscription.trial_end is not None  # only a trialing subscription has a trial end to schedule
    await schedule_job(
        session,
        kind=TRIAL_END,
        key=_trial_key(subscription.id),
        due_at=subscription.trial_end,
        clock_id=subscription.clock_id,
        payload={"subscription_id": subscription.id},
    )
    await reminders.schedule_trial_reminder(session, subscription)


def defer_lines(subscription: Subscription, lines: Sequence[ChargeLine]) -> None:
    """Keep lines for the subscription's next invoice."""
    subscription.pending_lines = [*(subscription.pending_lines or []), *(line.model_dump(mode="json") for line in lines)]


def take_pending_lines(subscription: Subscription) -> list[ChargeLine]:
    """The lines kept for the next invoice, which is being made now."""
    lines = [ChargeLine.model_validate(line) for line in subscription.pending_lines or []]
    subscription.pending_lines = []
    return lines


def switch_plan(subscription: Subscription, *, old: Plan, new: Plan) -> None:
    """Put the subscription on `new`, remembering the last paid plan when it drops to a free one."""
    if old.amount and not new.amount:
        subscription.last_paid_plan_code = old.code
    subscription.plan_code = new.code
    subscription.on_free_plan = new.is_free


def _usable_plan(plan: Plan, customer: Customer) -> Plan:
    if plan.archived:
        raise PlanArchived(f"Plan {plan.code!r} is archived.")
    if plan.currency != customer.currency:
        raise CurrencyMismatch(f"Plan {plan.code!r} is in {plan.currency}; the customer pays in {customer.currency}.")
    return plan


async def _redeem_at_creation(session: AsyncSession, subscription: Subscription, data: SubscriptionIn, start: datetime) -> None:
    """A coupon given at creation covers the first period (a trial's: the first paid one)."""
    if data.coupon_code or data.promotion_code:
        await discounts.redeem(
            session, subscription, coupon_code=data.coupon_code, promotion_code=data.promotion_code, starts_at=start, at=start
        )


async def create_subscription(session: AsyncSession, *, data: SubscriptionIn) -> Subscription:
    """Subscribe a customer: a trial, or an active period billed at once."""
    customer = await repository.get_customer(session, data.customer_id, for_update=True)
    plan = _usable_plan(await repository.get_plan(session, data.plan_code), customer)
    addons = await select_addons(session, data.addons, plan=plan, currency=customer.currency)
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
        addons=addons.recurring,
        pending_lines=[],
        scheduled_changes=[],
        status=SubscriptionStatus.TRIALING if trial_days and plan.amount else SubscriptionStatus.ACTIVE,
        on_free_plan=plan.is_free,
        discounts=[],
    )
    session.add(subscription)
    await session.flush()
    one_time = one_time_lines(addons.one_time_items)
    if subscription.status == "trialing":
        # Trial days are calendar days in the account's timezone, like every period.
        subscription.trial_end = period_boundary(start, "day", trial_days, 1, await _account_timezone(session))
        subscription.current_period_start, subscription.current_period_end = start, subscription.trial_end
        defer_lines(subscription, one_time)  # a trial charges nothing: one-time add-ons wait for the first invoice
        await schedule_trial_end(session, subscription)
        await announce(session, subscription, "created", start, plan=plan, customer=customer)
        await _redeem_at_creation(session, subscription, data, start)
        return subscription
    lines = await _start_period(session, subscription, plan, start)
    await announce(session, subscription, "created", start, plan=plan, customer=customer)
    await _redeem_at_creation(session, subscription, data, start)
    await announce(
        session,
        subscription,
        "activated",
        start,
        plan=plan,
        customer=customer,
        bill_lines=lines + one_time,
        billing_reason="subscription_create",
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
    if subscription.cancel_at_period_end:
        subscription.move_to(SubscriptionStatus.EXPIRED)
        subscription.pending_lines = []
        await announce(session, subscription, "trial_ended", at, plan=plan, customer=customer)
        await announce(session, subscription, "expired", at, plan=plan, customer=customer, reason="cancelled_at_trial_end")
        return
    if customer.payment_method:
        subscription.move_to(SubscriptionStatus.ACTIVE)
        await announce(session, subscription, "trial_ended", at, plan=plan, customer=customer)
        lines = await _start_period(session, subscription, plan, at)
        await announce(
            session,
            subscription,
            "activated",
            at,
            plan=plan,
            customer=customer,
            bill_lines=lines + take_pending_lines(subscription),
            billing_reason="trial_converted",
        )
        return
    settings = await repository.get_settings(session)
    subscription.pending_lines = []  # nothing was bought: the trial ends without a first invoice
    await announce(session, subscription, "trial_ended", at, plan=plan, customer=customer)
    if settings.trial_end_action == "move_to_free_plan" and settings.free_plan_code:
        await move_to_free_plan(session, subscription=subscription, at=at, reason="trial_ended_without_payment_method")
    else:
        await cancel_now(session, subscription=subscription, at=at, reason="trial_ended_without_payment_method")


async def renew(session: AsyncSession, *, subscription_id: str, due_at: datetime) -> None:
    """Period end: apply the changes scheduled for it, then start and bill the next period (with any
    lines kept for this invoice), or expire if cancellation was asked for."""
    subscription = await repository.get_subscription(session, subscription_id, for_update=True)
    if subscription.status != "active" or subscription.current_period_end != due_at:
        return  # paused, cancelled or moved since this renewal was scheduled
    customer = await repository.get_customer(session, subscription.customer_id)
    plan = old_plan = await repository.get_plan(session, subscription.plan_code)
    if subscription.cancel_at_period_end:
        subscription.move_to(SubscriptionStatus.EXPIRED)
        subscription.scheduled_changes = []
        await announce(
            session,
            subscription,
            "expired",
            due_at,
            plan=plan,
            customer=customer,
            bill_lines=take_pending_lines(subscription),
            billing_reason="subscription_expiry",
        )
        return
    for spent in discounts.spent_before(subscription, due_at):
        await discounts.announce_ended(session, subscription, spent, due_at, reason="periods_used")
    one_time: list[ChargeLine] = []
    change = scheduled_changes.take_due(subscription, due_at)
    if change:
        plan, one_time = await _apply_scheduled_change(session, subscription, change, plan=plan, customer=customer, at=due_at)
    if (plan.interval, plan.interval_count) != (old_plan.interval, old_plan.interval_count):
        lines = await _start_period(session, subscription, plan, due_at)  # a new billing frequency anchors here
    else:
        tz = await _account_timezone(session)
        anchor = subscription.billing_anchor
        assert anchor is not None  # an active subscription's paid period set it (_start_period)
        subscription.period_index += 1
        subscription.current_period_start = due_at
        subscription.current_period_end = period_boundary(
            anchor, plan.interval, plan.interval_count, subscription.period_index + 1, tz
        )
        await schedule_renewal(session, subscription)
        items = await subscription_items(session, subscription, plan)
        lines = period_lines(items, start=subscription.current_period_start, end=subscription.current_period_end)
    await announce(
        session,
        subscription,
        "renewed",
        due_at,
        plan=plan,
        customer=customer,
        bill_lines=lines + one_time + take_pending_lines(subscription),
        billing_reason="subscription_cycle",
    )


async def _apply_scheduled_change(
    session: AsyncSession, subscription: Subscription, change: dict[str, Any], *, plan: Plan, customer: Customer, at: datetime
) -> tuple[Plan, list[ChargeLine]]:
    """Put the due scheduled changes in force; return the plan now held and one-time add-ons bought."""
    new_plan = await repository.get_plan(session, change.get("plan_code") or plan.code)
    if change.get("quantity") is not None:
        subscription.quantity = change["quantity"]
    if change.get("addons") is not None:
        subscription.addons = change["addons"]
    switch_plan(subscription, old=plan, new=new_plan)
    one_time = one_time_lines(await addon_items(session, change["one_time_addons"]))
    await announce(
        session,
        subscription,
        "changed",
        at,
        plan=new_plan,
        customer=customer,
        details={
            "from_plan_code": plan.code,
            "quantity": subscription.quantity,
            "addons": subscription.addons,
            "scheduled_change_ids": change["ids"],
            "when": "end_of_term",
        },
    )
    return new_plan, one_time


async def move_to_free_plan(session: AsyncSession, *, subscription: Subscription, at: datetime, reason: str) -> None:
    """Keep the customer (same subscription id) on the account's free plan from `at`."""
    settings = await repository.get_settings(session)
    assert settings.free_plan_code is not None  # both callers move only when the account has a free plan
    free_plan = await repository.get_plan(session, settings.free_plan_code)
    customer = await repository.get_customer(session, subscription.customer_id)
    if not subscription.on_free_plan:
        subscription.last_paid_plan_code = subscription.plan_code
    subscription.plan_code = free_plan.code
    subscription.on_free_plan = True
    subscription.move_to(SubscriptionStatus.ACTIVE)
    subscription.unpaid = False
    subscription.cancel_at_period_end = False
    subscription.quantity = 1
    # Basic access only: paid add-ons and anything waiting to be billed or changed end here.
    subscription.addons, subscription.pending_lines, subscription.scheduled_changes = [], [], []
    await _start_period(session, subscription, free_plan, at)
    await announce(
        session,
        subscription,
        "moved_to_free_plan",
        at,
        plan=free_plan,
        customer=customer,
        reason=reason,
        details={"last_paid_plan_code": subscription.last_paid_plan_code, "reason": reason},
    )


async def cancel_now(
    session: AsyncSession,
    *,
    subscription: Subscription,
    at: datetime,
    reason: str,
    bill_lines: Sequence[ChargeLine] = (),
    credit_requests: Sequence[CreditRequest] = (),
) -> None:
    """End the subscription at `at`: bill `bill_lines` (what was still owed), then nothing more."""
    customer = await repository.get_customer(session, subscription.customer_id)
    plan = await repository.get_plan(session, subscription.plan_code)
    subscription.move_to(SubscriptionStatus.CANCELLED)
    subscription.cancelled_at = at
    subscription.cancel_at_period_end = False
    subscription.pending_lines, subscription.scheduled_changes = [], []
    await cancel_job(session, key=_renewal_key(subscription.id))
    await cancel_job(session, key=_trial_key(subscription.id))
    await announce(
        session,
        subscription,
        "cancelled",
        at,
        plan=plan,
        customer=customer,
        reason=reason,
        details={"reason": reason},
        bill_lines=bill_lines,
        billing_reason="subscription_cancel",
        credit_requests=credit_requests,
    )


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
