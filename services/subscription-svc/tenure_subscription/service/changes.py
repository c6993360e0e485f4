"""Plan, quantity, add-on and billing-frequency changes, now or at the end of the term.

Now: the unused days of what changes are credited and the new items charged over the same days
(`charges.change_lines`), settled per settings.proration: `immediate` invoices the net at once,
`next_invoice` adds it to the next renewal, `none` bills nothing. A negative net is never invoiced:
its charges are, and its credits become a credit note (a `CreditRequest` on subscription.changed).
A change to a plan of another interval, or up from a free plan, starts a new period on the day.
At end of term: the change waits on the subscription and the renewal applies it before it bills.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.clock import business_now
from tenure_shared.events import ChargeLine, CreditRequest
from tenure_shared.ids import new_id
from tenure_subscription import repository
from tenure_subscription.calendar import period_boundary
from tenure_subscription.charges import Item, change_lines, one_time_lines, period_lines, settle
from tenure_subscription.discounts import share_of_cost
from tenure_subscription.errors import EmptyChange, SubscriptionNotChangeable
from tenure_subscription.models import AccountSettings, Discount, Plan, Subscription
from tenure_subscription.schemas import ChangeIn
from tenure_subscription.service import discounts, lifecycle, scheduled_changes
from tenure_subscription.service.addons import AddonSelection, addon_items, plan_item, select_addons, subscription_items


@dataclass(frozen=True)
class ChangePlan:
    """What a change does: every line it computes now and how they are settled."""

    subscription: Subscription
    new_plan: Plan
    quantity: int
    addons: list[dict[str, Any]]
    when: str
    effective_at: datetime
    new_period: bool
    # Proration lines and, for a new period, the period's charges (one-time add-ons excluded).
    lines: list[ChargeLine]
    invoice_now: list[ChargeLine]
    next_invoice: list[ChargeLine]
    credit: int
    renewal_lines: list[ChargeLine]
    # The lines kept for the next invoice go on this change's invoice (a new period starts now).
    takes_pending: bool = False
    scheduled: dict[str, Any] | None = None
    # The discount lines the invoice of `invoice_now` gets: the running discounts and the change's coupon.
    invoice_now_discounts: list[ChargeLine] = field(default_factory=list)


def _pending_lines(subscription: Subscription) -> list[ChargeLine]:
    return [ChargeLine.model_validate(line) for line in subscription.pending_lines or []]


def _check_changeable(subscription: Subscription) -> None:
    if subscription.status != "active":
        raise SubscriptionNotChangeable(f"A {subscription.status} subscription cannot be changed.")
    if subscription.cancel_at_period_end:
        raise SubscriptionNotChangeable("The subscription is cancelled at the end of its term; reactivate it first.")


def _same_interval(a: Plan, b: Plan) -> bool:
    return (a.interval, a.interval_count) == (b.interval, b.interval_count)


async def _next_period_end(session: AsyncSession, subscription: Subscription, plan: Plan, tz: str) -> datetime:
    """End of the period that follows the current one on `plan` (a new interval anchors at the term end)."""
    current = await repository.get_plan(session, subscription.plan_code)
    if _same_interval(plan, current):
        anchor = subscription.billing_anchor
        assert anchor is not None  # only an active subscription changes, and its paid period set the anchor
        return period_boundary(anchor, plan.interval, plan.interval_count, subscription.period_index + 2, tz)
    return period_boundary(subscription.current_period()[1], plan.interval, plan.interval_count, 1, tz)


async def _plan_change(session: AsyncSession, subscription: Subscription, change: ChangeIn, now: datetime) -> ChangePlan:
    _check_changeable(subscription)
    if change.plan_code is None and change.quantity is None and change.addons is None:
        raise EmptyChange("Give plan_code, quantity and/or addons.")  # a coupon alone: POST …/discounts
    customer = await repository.get_customer(session, subscription.customer_id)
    settings = await repository.get_settings(session)
    old_plan = await repository.get_plan(session, subscription.plan_code)
    # At end of term the change applies after those already scheduled, so it is checked against them.
    base = (scheduled_changes.merge(scheduled_changes.pending(subscription)) or {}) if change.when == "end_of_term" else {}
    base_plan = await repository.get_plan(session, base.get("plan_code") or old_plan.code)
    base_quantity = base.get("quantity") or subscription.quantity
    base_addons = base["addons"] if base.get("addons") is not None else subscription.addons
    new_plan = base_plan
    if change.plan_code is not None and change.plan_code != base_plan.code:
        new_plan = lifecycle._usable_plan(await repository.get_plan(session, change.plan_code), customer)
    quantity = change.quantity if change.quantity is not None else base_quantity
    selection = await select_addons(
        session,
        change.addons if change.addons is not None else base_addons,
        plan=new_plan,
        currency=customer.currency,
        current=subscription.addons,
    )
    unchanged = (new_plan.code, quantity, selection.recurring) == (base_plan.code, base_quantity, base_addons)
    if unchanged and not selection.one_time_items:
        raise EmptyChange("The subscription already is as asked.")
    if change.when == "end_of_term":
        record = {
            "plan_code": new_plan.code if new_plan.code != base_plan.code else None,
            "quantity": quantity if quantity != base_quantity else None,
            "addons": selection.recurring if selection.recurring != base_addons else None,
        }
        return await _plan_end_of_term(session, subscription, record, new_plan, quantity, selection, base, settings)
    coming: list[Discount] = []
    if change.coupon_code or change.promotion_code:  # the coupon given with the change covers what it bills now
        coming.append(
            await discounts.redeemable(
                session, subscription, coupon_code=change.coupon_code, promotion_code=change.promotion_code, starts_at=now, at=now
            )
        )
    return await _plan_now(session, subscription, old_plan, new_plan, quantity, selection, settings, now, coming)


async def _plan_end_of_term(
    session: AsyncSession,
    subscription: Subscription,
    record: dict[str, Any],
    new_plan: Plan,
    quantity: int,
    selection: AddonSelection,
    base: dict[str, Any],
    settings: AccountSettings,
) -> ChangePlan:
    scheduled_changes.check_no_conflict(subscription, record)
    start = subscription.current_period()[1]
    end = await _next_period_end(session, subscription, new_plan, settings.timezone)
    items = [plan_item(new_plan, quantity), *selection.recurring_items]
    earlier_one_time = await addon_items(session, base.get("one_time_addons", []))
    renewal = (
        period_lines(items, start=start, end=end)
        + one_time_lines([*earlier_one_time, *selection.one_time_items])
        + _pending_lines(subscription)
    )
    current = await repository.get_plan(session, subscription.plan_code)
    return ChangePlan(
        subscription=subscription,
        new_plan=new_plan,
        quantity=quantity,
        addons=selection.recurring,
        when="end_of_term",
        effective_at=start,
        new_period=not _same_interval(new_plan, current),
        lines=[],
        invoice_now=[],
        next_invoice=[],
        credit=0,
        renewal_lines=renewal,
        scheduled={**record, "one_time_items": selection.one_time_items},
    )


async def _credit_after_discounts(
    session: AsyncSession, subscription: Subscription, old_plan: Plan, old_items: list[Item], credit: int
) -> int:
    """A credit note for unused days is on what the period cost after its discounts, not its list price."""
    if not credit:
        return 0
    start, end = subscription.current_period()
    cost = await discounts.period_amount(session, subscription, old_plan, start, end)
    return share_of_cost(credit, list_amount=sum(item.amount for item in old_items), cost=cost)


async def _plan_now(
    session: AsyncSession,
    subscription: Subscription,
    old_plan: Plan,
    new_plan: Plan,
    quantity: int,
    selection: AddonSelection,
    settings: AccountSettings,
    now: datetime,
    coming: Sequence[Discount],
) -> ChangePlan:
    tz, mode = settings.timezone, settings.proration
    old_items = await subscription_items(session, subscription, old_plan)
    new_items: list[Item] = [plan_item(new_plan, quantity), *selection.recurring_items]
    one_time = one_time_lines(selection.one_time_items)
    period_start, period_end = subscription.current_period()
    if (old_plan.is_free and not new_plan.is_free) or not _same_interval(old_plan, new_plan):
        # A new paid period starts today; the unused old period is credited (unless proration is none).
        end, next_end = (period_boundary(now, new_plan.interval, new_plan.interval_count, n, tz) for n in (1, 2))
        credits = (
            []
            if mode == "none"
            else change_lines(old_items, [], period_start=period_start, period_end=period_end, change_at=now, tz=tz)
        )
        lines = credits + period_lines(new_items, start=now, end=end)
        settlement = settle(lines)
        credit = await _credit_after_discounts(session, subscription, old_plan, old_items, settlement.credit)
        invoice_now = settlement.invoiced + one_time + _pending_lines(subscription)
        return ChangePlan(
            subscription=subscription,
            new_plan=new_plan,
            quantity=quantity,
            addons=selection.recurring,
            when="now",
            effective_at=now,
            new_period=True,
            lines=lines,
            invoice_now=invoice_now,
            invoice_now_discounts=discounts.discount_lines(subscription, invoice_now, coming)[0],
            next_invoice=[],
            credit=credit,
            takes_pending=True,
            renewal_lines=period_lines(new_items, start=end, end=next_end),
        )
    lines = (
        []
        if mode == "none"
        else change_lines(old_items, new_items, period_start=period_start, period_end=period_end, change_at=now, tz=tz)
    )
    settlement = settle(lines)
    credit = await _credit_after_discounts(session, subscription, old_plan, old_items, settlement.credit)
    invoice_now, next_invoice = (settlement.invoiced, []) if mode == "immediate" else ([], settlement.invoiced)
    end = await _next_period_end(session, subscription, new_plan, tz)
    renewal = period_lines(new_items, start=period_end, end=end)
    renewal += _pending_lines(subscription) + next_invoice
    return ChangePlan(
        subscription=subscription,
        new_plan=new_plan,
        quantity=quantity,
        addons=selection.recurring,
        when="now",
        effective_at=now,
        new_period=False,
        lines=lines,
        invoice_now=invoice_now + one_time,
        invoice_now_discounts=discounts.discount_lines(subscription, invoice_now + one_time, coming)[0],
        next_invoice=next_invoice,
        credit=credit,
        renewal_lines=renewal,
    )


async def preview_change(session: AsyncSession, *, subscription_id: str, change: ChangeIn) -> ChangePlan:
    """What the change would bill, credit and renew, without changing anything."""
    subscription = await repository.get_subscription(session, subscription_id)
    now = await business_now(session, subscription.clock_id)
    return await _plan_change(session, subscription, change, now)


async def change_subscription(session: AsyncSession, *, subscription_id: str, change: ChangeIn) -> ChangePlan:
    """Change plan, quantity and/or add-ons now (billed per settings.proration) or at the end of the term."""
    subscription = await repository.get_subscription(session, subscription_id, for_update=True)
    now = await business_now(session, subscription.clock_id)
    planned = await _plan_change(session, subscription, change, now)
    customer = await repository.get_customer(session, subscription.customer_id)
    old_plan = await repository.get_plan(session, subscription.plan_code)
    if change.coupon_code or change.promotion_code:
        # With `now` the discount covers the period the change bills in; at end of term, the next one.
        starts_at = now if planned.when == "now" else subscription.current_period()[1]
        await discounts.redeem(
            session,
            subscription,
            coupon_code=change.coupon_code,
            promotion_code=change.promotion_code,
            starts_at=starts_at,
            at=now,
        )
    if planned.when == "end_of_term":
        scheduled = planned.scheduled
        assert scheduled is not None  # an end-of-term plan carries what it schedules (_plan_end_of_term)
        one_time = [{"code": i.code, "quantity": i.quantity} for i in scheduled["one_time_items"]]
        record = scheduled_changes.add(
            subscription,
            plan_code=scheduled["plan_code"],
            quantity=scheduled["quantity"],
            addons=scheduled["addons"],
            one_time_addons=one_time,
            effective_at=planned.effective_at,
        )
        await lifecycle.announce(
            session,
            subscription,
            "change_scheduled",
            now,
            plan=old_plan,
            customer=customer,
            details={"scheduled_change": record},
        )
        return replace(planned, scheduled=record)
    change_id, period_end = new_id("chg"), subscription.current_period()[1]
    subscription.quantity = planned.quantity
    subscription.addons = planned.addons
    lifecycle.switch_plan(subscription, old=old_plan, new=planned.new_plan)
    if planned.takes_pending:
        subscription.pending_lines = []
    lifecycle.defer_lines(subscription, planned.next_invoice)
    if planned.new_period:
        subscription.unpaid = False  # a fresh period, paid now
        await lifecycle._start_period(session, subscription, planned.new_plan, now)
    credit_requests = (
        [
            CreditRequest(
                key=f"change:{change_id}",
                reason="downgrade_proration",
                currency=planned.new_plan.currency,
                description=f"Unused {old_plan.name} after the change to {planned.new_plan.name}",
                amount=planned.credit,
                period_start=now,
                period_end=period_end,
            )
        ]
        if planned.credit
        else []
    )
    await lifecycle.announce(
        session,
        subscription,
        "changed",
        now,
        plan=planned.new_plan,
        customer=customer,
        bill_lines=planned.invoice_now,
        billing_reason="subscription_update",
        credit_requests=credit_requests,
        details={
            "change_id": change_id,
            "from_plan_code": old_plan.code,
            "quantity": planned.quantity,
            "addons": planned.addons,
            "new_period": planned.new_period,
            "when": "now",
            "credit_note_amount": planned.credit,
        },
    )
    return planned


async def cancel_scheduled_change(session: AsyncSession, *, subscription_id: str, change_id: str) -> Subscription:
    """Drop a change waiting for the end of the term."""
    subscription = await repository.get_subscription(session, subscription_id, for_update=True)
    record = scheduled_changes.remove(subscription, change_id)
    now = await business_now(session, subscription.clock_id)
    customer = await repository.get_customer(session, subscription.customer_id)
    plan = await repository.get_plan(session, subscription.plan_code)
    await lifecycle.announce(
        session,
        subscription,
        "scheduled_change_cancelled",
        now,
        plan=plan,
        customer=customer,
        details={"scheduled_change": record},
    )
    return subscription
