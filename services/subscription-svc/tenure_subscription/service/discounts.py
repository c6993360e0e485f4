"""Coupons, promotion codes and the discounts they put on subscriptions.

A coupon is redeemed onto a subscription as a `Discount` carrying the coupon's terms, so archiving
or expiring the coupon never touches a running discount. Every invoice a subscription event asks
for gets its discount lines here (`discount_lines`, with the pure `tenure_subscription.discounts`),
and each discount remembers the periods it covered; a voided invoice gives them back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.clock import business_now
from tenure_shared.events import ChargeLine, DiscountData, InvoiceData
from tenure_shared.ids import new_id
from tenure_shared.pagination import Page, paginate
from tenure_subscription import repository
from tenure_subscription.charges import Item, period_lines
from tenure_subscription.discounts import DiscountTerms, DiscountUse, discount_invoice, period_cost, whole_period_cost
from tenure_subscription.errors import (
    CouponAlreadyExists,
    CouponArchived,
    CouponExpired,
    CouponMaxRedeemed,
    CouponNotApplicable,
    CouponNotFound,
    DiscountAlreadyApplied,
    DiscountNotFound,
    PromotionCodeAlreadyExists,
    PromotionCodeNotEligible,
    SubscriptionNotChangeable,
)
from tenure_subscription.models import Coupon, Customer, Discount, Plan, PromotionCode, Subscription
from tenure_subscription.schemas import CouponIn, PromotionCodeIn
from tenure_subscription.service import lifecycle  # a cycle: lifecycle bills with this module's lines
from tenure_subscription.service.addons import subscription_items

# ---- catalog ----------------------------------------------------------------------------------


async def create_coupon(session: AsyncSession, *, data: CouponIn) -> Coupon:
    if await session.get(Coupon, data.code) is not None:
        raise CouponAlreadyExists(f"A coupon with code {data.code!r} exists already.")
    coupon = Coupon(
        code=data.code,
        name=data.name,
        percent_off=data.percent_off,
        amount_off=data.amount_off,
        currency=data.currency,
        duration=data.duration,
        duration_in_periods=data.duration_in_periods,
        applies_to=data.applies_to.model_dump(exclude_none=True) if data.applies_to else None,
        max_redemptions=data.max_redemptions,
        redeem_by=data.redeem_by,
        archived=False,
    )
    session.add(coupon)
    await session.flush()
    return coupon


async def get_coupon(session: AsyncSession, code: str, *, for_update: bool = False) -> Coupon:
    coupon = await session.get(Coupon, code, with_for_update=for_update)
    if coupon is None:
        raise CouponNotFound(f"No coupon with code {code!r}.")
    return coupon


async def list_coupons(session: AsyncSession, page: Page) -> tuple[list[Coupon], bool]:
    return await paginate(session, select(Coupon), Coupon.code, page)


async def archive_coupon(session: AsyncSession, *, code: str) -> Coupon:
    """An archived coupon takes no new redemptions; running discounts keep going."""
    coupon = await get_coupon(session, code)
    coupon.archived = True
    await session.flush()
    return coupon


async def times_redeemed(session: AsyncSession, *, coupon_code: str | None = None, promotion_code: str | None = None) -> int:
    """How many subscriptions redeemed the coupon (or the promotion code)."""
    column = Discount.coupon_code if coupon_code is not None else Discount.promotion_code
    statement = select(func.count(func.distinct(Discount.subscription_id))).where(column == (coupon_code or promotion_code))
    return (await session.scalar(statement)) or 0


async def create_promotion_code(session: AsyncSession, *, data: PromotionCodeIn) -> PromotionCode:
    if await session.get(PromotionCode, data.code) is not None:
        raise PromotionCodeAlreadyExists(f"A promotion code {data.code!r} exists already.")
    await get_coupon(session, data.coupon_code)
    if data.customer_id is not None:
        await repository.get_customer(session, data.customer_id)
    promotion = PromotionCode(**data.model_dump())
    session.add(promotion)
    await session.flush()
    return promotion


async def list_promotion_codes(session: AsyncSession, page: Page, *, coupon_code: str | None) -> tuple[list[PromotionCode], bool]:
    return await paginate(
        session, select(PromotionCode), PromotionCode.code, page, filters={PromotionCode.coupon_code: coupon_code}
    )


# ---- the terms of running discounts ---------------------------------------------------------------


def periods_limit(discount: Discount) -> int | None:
    return {"once": 1, "repeating": discount.duration_in_periods}.get(discount.duration)


def _used(discount: Discount) -> dict[datetime, int]:
    used: dict[datetime, int] = defaultdict(int)
    for use in discount.uses or []:
        used[datetime.fromisoformat(use["period_end"])] += use["amount"] if discount.amount_off is not None else 0
    return dict(used)


def terms(discount: Discount) -> DiscountTerms:
    applies_to = discount.applies_to or None
    return DiscountTerms(
        id=discount.id,
        label=f"Discount {discount.coupon_code}",
        starts_at=discount.starts_at,
        percent_off=discount.percent_off,
        amount_off=discount.amount_off,
        periods_limit=periods_limit(discount),
        plan_codes=frozenset(applies_to.get("plan_codes", [])) if applies_to else None,
        addon_codes=frozenset(applies_to.get("addon_codes", [])) if applies_to else None,
        used=_used(discount),
    )


def running(subscription: Subscription) -> list[Discount]:
    """Discounts not removed (a spent one simply covers no further period)."""
    return [d for d in subscription.discounts if d.ended_at is None]


def ends_at(discount: Discount) -> datetime | None:
    """When it stops: removed, or the end of the last of its periods once all are known."""
    if discount.ended_at is not None:
        return discount.ended_at
    limit = periods_limit(discount)
    used = _used(discount)
    return max(used) if limit is not None and len(used) >= limit else None


def periods_remaining(discount: Discount) -> int | None:
    limit = periods_limit(discount)
    return None if limit is None else max(0, limit - len(_used(discount)))


def is_listed(discount: Discount, subscription: Subscription) -> bool:
    """Shown on the subscription while it still covers the current period or one to come."""
    end = ends_at(discount)
    return discount.ended_at is None and (
        end is None or subscription.current_period_start is None or end > subscription.current_period_start
    )


def discount_data(discount: Discount) -> DiscountData:
    return DiscountData(
        id=discount.id,
        coupon_code=discount.coupon_code,
        promotion_code=discount.promotion_code,
        percent_off=None if discount.percent_off is None else format(discount.percent_off.normalize(), "f"),
        amount_off=discount.amount_off,
        currency=discount.currency,
        duration=discount.duration,
        duration_in_periods=discount.duration_in_periods,
        starts_at=discount.starts_at,
        ends_at=ends_at(discount),
    )


# ---- billing ----------------------------------------------------------------------------------------


def discount_lines(
    subscription: Subscription, lines: Sequence[ChargeLine], coming: Sequence[Discount] = ()
) -> tuple[list[ChargeLine], list[DiscountUse]]:
    """The discount lines an invoice of `lines` gets, and the periods they cover (recorded once billed);
    `coming`: discounts about to be redeemed with it (a change's coupon, priced before it is put on)."""
    if not lines:
        return [], []
    result = discount_invoice(lines, [terms(d) for d in [*running(subscription), *coming]])
    return result.lines, result.uses


def record_uses(subscription: Subscription, uses: Sequence[DiscountUse], *, event_id: str) -> None:
    by_id = {d.id: d for d in subscription.discounts}
    for use in uses:
        discount = by_id[use.discount_id]
        entry = {"period_end": use.period_end.isoformat(), "event_id": event_id, "amount": use.amount}
        discount.uses = [*(discount.uses or []), entry]


def spent_before(subscription: Subscription, period_end: datetime) -> list[Discount]:
    """Running discounts whose last period ended at `period_end` (they cover nothing after it)."""
    return [d for d in running(subscription) if (end := ends_at(d)) is not None and end == period_end]


async def period_amount(session: AsyncSession, subscription: Subscription, plan: Plan, start: datetime, end: datetime) -> int:
    """What a whole period of the subscription costs after the discounts that covered it: the base
    of every credit for its unused days (pause, cancellation)."""
    lines = period_lines(await subscription_items(session, subscription, plan), start=start, end=end)
    return period_cost(lines, [terms(d) for d in subscription.discounts])


def recurring_after_discounts(
    subscription: Subscription, items: Sequence[Item], *, start: datetime, end: datetime, billing: Sequence[DiscountUse] = ()
) -> int:
    """One whole period [start, end) of `items` after the running discounts that cover it, counting the
    periods `billing` (the invoice being issued) takes as used: what MRR counts. subscription-svc's
    rule, carried in the events, so that no consumer re-implements it."""
    taken: defaultdict[str, dict[datetime, int]] = defaultdict(dict)
    for use in billing:
        taken[use.discount_id][use.period_end] = use.amount
    covering = [replace(t, used={**t.used, **taken[t.id]}) for t in (terms(d) for d in running(subscription))]
    return whole_period_cost(period_lines(items, start=start, end=end), covering)


async def give_back_voided(session: AsyncSession, invoice: InvoiceData) -> None:
    """A voided invoice's discount periods count again: its uses are forgotten."""
    if invoice.subscription_id is None or invoice.source_event_id is None:
        return
    subscription = await repository.get_subscription(session, invoice.subscription_id, for_update=True)
    for discount in subscription.discounts:
        kept = [use for use in discount.uses or [] if use["event_id"] != invoice.source_event_id]
        if len(kept) != len(discount.uses or []):
            discount.uses = kept


# ---- redeeming and removing ------------------------------------------------------------------------


async def _resolve(
    session: AsyncSession, *, coupon_code: str | None, promotion_code: str | None, customer: Customer, now: datetime
) -> tuple[Coupon, PromotionCode | None]:
    promotion = None
    if promotion_code is not None:
        promotion = await session.get(PromotionCode, promotion_code, with_for_update=True)
        if promotion is None:
            raise CouponNotFound(f"No promotion code {promotion_code!r}.")
        coupon_code = promotion.coupon_code
    # Every caller gives a coupon code or a promotion code (the request bodies check it).
    assert coupon_code is not None
    # Locked: two redemptions at once must not both take the last of max_redemptions.
    coupon = await get_coupon(session, coupon_code, for_update=True)
    if coupon.archived:
        raise CouponArchived(f"Coupon {coupon.code!r} is archived.")
    if coupon.redeem_by is not None and now > coupon.redeem_by:
        raise CouponExpired(f"Coupon {coupon.code!r} could be redeemed until {coupon.redeem_by.isoformat()}.")
    if coupon.max_redemptions is not None and await times_redeemed(session, coupon_code=coupon.code) >= coupon.max_redemptions:
        raise CouponMaxRedeemed(f"Coupon {coupon.code!r} was redeemed {coupon.max_redemptions} times already.")
    if coupon.amount_off is not None and coupon.currency != customer.currency:
        raise CouponNotApplicable(f"Coupon {coupon.code!r} is in {coupon.currency}; the customer pays in {customer.currency}.")
    return coupon, promotion


async def _check_promotion(
    session: AsyncSession, promotion: PromotionCode, subscription: Subscription, customer: Customer, recurring: int, now: datetime
) -> None:
    def refuse(why: str) -> PromotionCodeNotEligible:
        return PromotionCodeNotEligible(f"Promotion code {promotion.code!r}: {why}.")

    if promotion.expires_at is not None and now > promotion.expires_at:
        raise refuse(f"expired at {promotion.expires_at.isoformat()}")
    if (
        promotion.max_redemptions is not None
        and await times_redeemed(session, promotion_code=promotion.code) >= promotion.max_redemptions
    ):
        raise refuse("spent")
    if promotion.customer_id is not None and promotion.customer_id != customer.id:
        raise refuse("it is for another customer")
    if promotion.minimum_amount is not None and recurring < promotion.minimum_amount:
        raise refuse(f"the subscription's recurring amount {recurring} is below {promotion.minimum_amount}")
    if promotion.first_time_only:
        others = select(func.count()).where(Subscription.customer_id == customer.id, Subscription.id != subscription.id)
        if await session.scalar(others):
            raise refuse("for first-time customers only")


def _check_applies(coupon: Coupon, subscription: Subscription, plan: Plan) -> None:
    if not coupon.applies_to:
        return
    plans, addons = set(coupon.applies_to.get("plan_codes", [])), set(coupon.applies_to.get("addon_codes", []))
    if plan.code not in plans and not addons & {ref["code"] for ref in subscription.addons or []}:
        raise CouponNotApplicable(f"Coupon {coupon.code!r} applies to none of the subscription's plan and add-ons.")


async def redeemable(
    session: AsyncSession,
    subscription: Subscription,
    *,
    coupon_code: str | None,
    promotion_code: str | None,
    starts_at: datetime,
    at: datetime,
) -> Discount:
    """The discount redeeming the coupon (or promotion code) would put on the subscription, not yet
    on it (a quote prices it without redeeming); every refusal raises here."""
    customer = await repository.get_customer(session, subscription.customer_id)
    plan = await repository.get_plan(session, subscription.plan_code)
    coupon, promotion = await _resolve(session, coupon_code=coupon_code, promotion_code=promotion_code, customer=customer, now=at)
    if any(d.coupon_code == coupon.code for d in running(subscription) if is_listed(d, subscription)):
        raise DiscountAlreadyApplied(f"Coupon {coupon.code!r} is already applied to {subscription.id}.")
    _check_applies(coupon, subscription, plan)
    if promotion is not None:
        recurring = sum(item.amount for item in await subscription_items(session, subscription, plan))
        await _check_promotion(session, promotion, subscription, customer, recurring, at)
    return Discount(
        id=new_id("di"),
        subscription_id=subscription.id,
        coupon_code=coupon.code,
        promotion_code=promotion.code if promotion else None,
        percent_off=coupon.percent_off,
        amount_off=coupon.amount_off,
        currency=coupon.currency,
        duration=coupon.duration,
        duration_in_periods=coupon.duration_in_periods,
        applies_to=coupon.applies_to,
        starts_at=starts_at,
        uses=[],
    )


async def redeem(
    session: AsyncSession,
    subscription: Subscription,
    *,
    coupon_code: str | None,
    promotion_code: str | None,
    starts_at: datetime,
    at: datetime,
) -> Discount:
    """Put a coupon (directly, or through a promotion code) on the subscription from `starts_at`:
    it covers the billing periods ending after it. Refusals raise before anything changes."""
    discount = await redeemable(
        session, subscription, coupon_code=coupon_code, promotion_code=promotion_code, starts_at=starts_at, at=at
    )
    customer = await repository.get_customer(session, subscription.customer_id)
    plan = await repository.get_plan(session, subscription.plan_code)
    subscription.discounts.append(discount)
    await session.flush()
    await lifecycle.announce(
        session,
        subscription,
        "discount_applied",
        at,
        plan=plan,
        customer=customer,
        details={"discount": discount_data(discount).model_dump(mode="json")},
    )
    return discount


async def apply_discount(
    session: AsyncSession, *, subscription_id: str, coupon_code: str | None, promotion_code: str | None
) -> Subscription:
    """`POST /v1/subscriptions/{id}/discounts`: from the next period on (a trial: from its first paid one)."""
    subscription = await repository.get_subscription(session, subscription_id, for_update=True)
    if subscription.status not in ("active", "trialing", "paused"):
        raise SubscriptionNotChangeable(f"A {subscription.status} subscription takes no discount.")
    now = await business_now(session, subscription.clock_id)
    starts_at = now if subscription.status == "trialing" else subscription.current_period()[1]
    await redeem(session, subscription, coupon_code=coupon_code, promotion_code=promotion_code, starts_at=starts_at, at=now)
    return subscription


async def remove_discount(session: AsyncSession, *, subscription_id: str, discount_id: str) -> Subscription:
    """End a discount now: later invoices no longer carry it."""
    subscription = await repository.get_subscription(session, subscription_id, for_update=True)
    discount = next((d for d in running(subscription) if d.id == discount_id), None)
    if discount is None:
        raise DiscountNotFound(f"No running discount {discount_id} on {subscription_id}.")
    now = await business_now(session, subscription.clock_id)
    discount.ended_at = now
    await announce_ended(session, subscription, discount, now, reason="removed")
    return subscription


async def announce_ended(
    session: AsyncSession, subscription: Subscription, discount: Discount, at: datetime, *, reason: str
) -> None:
    customer = await repository.get_customer(session, subscription.customer_id)
    plan = await repository.get_plan(session, subscription.plan_code)
    await lifecycle.announce(
        session,
        subscription,
        "discount_ended",
        at,
        plan=plan,
        customer=customer,
        reason=reason,
        details={"discount": discount_data(discount).model_dump(mode="json"), "reason": reason},
    )
