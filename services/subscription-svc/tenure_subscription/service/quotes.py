"""Quotes: a proposed change to a subscription, priced exactly by the code the change itself runs.

draft → (approve, where the discount is more than `quote_approval_percent_off` of the subtotal) →
finalize (a gapless Q- number; open until `expires_at`, 30 days by default) → accept (the change is
made: at the end of the term as a scheduled change, or now with proration) | decline; a draft or an
open quote can be cancelled; an open quote past `expires_at` expires on its clock. `total` is the
first invoice after acceptance and `recurring_total` each period after it, both after discounts.
A quote is re-priced when accepted: if the subscription changed meanwhile, it is refused as stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.clock import business_now
from tenure_shared.due_work import ScheduledJob, cancel_job, schedule_job
from tenure_shared.events import QUOTES, ChargeLine, QuoteData
from tenure_shared.ids import new_id
from tenure_shared.numbering import next_number
from tenure_shared.outbox import add_event
from tenure_shared.pagination import Page, paginate
from tenure_subscription import repository
from tenure_subscription.calendar import period_boundary
from tenure_subscription.charges import period_lines
from tenure_subscription.config import SERVICE
from tenure_subscription.discounts import DiscountTerms
from tenure_subscription.errors import (
    InvalidQuoteExpiry,
    QuoteExpired,
    QuoteNotFound,
    QuoteNotOpen,
    QuoteRequiresApproval,
    QuoteStale,
)
from tenure_subscription.models import Plan, Quote, Subscription
from tenure_subscription.quotes import after_uses, discounted_total, expiry, figures, needs_approval
from tenure_subscription.schemas import ChangeIn, QuoteIn
from tenure_subscription.service import changes, discounts
from tenure_subscription.service.addons import addon_items, plan_item, subscription_items
from tenure_subscription.statuses import QuoteStatus

QUOTE_EXPIRY = "quote_expiry"


@dataclass(frozen=True)
class Priced:
    lines: list[ChargeLine]
    recurring_total: int
    current_recurring_amount: int
    effective_at: datetime
    currency: str


def _change_of(quote: QuoteIn | Quote) -> ChangeIn:
    return ChangeIn(plan_code=quote.plan_code, quantity=quote.quantity, addons=quote.addons, when=quote.when)


def _following_period_total(lines: list[ChargeLine], plan: Plan, terms: list[DiscountTerms], tz: str) -> int:
    """What the period after the one `lines` bill costs, with what the discounts have left after them."""
    start = max(line.period_end for line in lines if line.period_end is not None)
    end = period_boundary(start, plan.interval, plan.interval_count, 1, tz)
    following = [line.model_copy(update={"period_start": start, "period_end": end}) for line in lines]
    priced, _ = discounted_total(following, terms)
    return sum(line.amount for line in priced)


def _recurring(lines: list[ChargeLine]) -> list[ChargeLine]:
    return [line for line in lines if line.kind in ("subscription", "addon")]


async def _price(session: AsyncSession, subscription: Subscription, quote: QuoteIn | Quote, now: datetime) -> Priced:
    """The first invoice after acceptance and the periods after it, as the change would bill them."""
    planned = await changes.preview_change(session, subscription_id=subscription.id, change=_change_of(quote))
    tz = (await repository.get_settings(session)).timezone
    running = [discounts.terms(d) for d in discounts.running(subscription)]
    terms = list(running)
    if quote.coupon_code is not None:
        starts_at = now if quote.when == "now" else subscription.current_period()[1]
        coupon = await discounts.redeemable(
            session, subscription, coupon_code=quote.coupon_code, promotion_code=None, starts_at=starts_at, at=now
        )
        terms.append(discounts.terms(coupon))
    # `now` with proration billed at once: the change's own invoice; otherwise the renewal bills it first.
    first = planned.invoice_now if quote.when == "now" and planned.invoice_now else planned.renewal_lines
    lines, uses = discounted_total(first, terms)
    period_start, period_end = subscription.current_period()
    # A first invoice of proration only lies within this period: the period after it is the renewal.
    new_items = [plan_item(planned.new_plan, planned.quantity), *await addon_items(session, planned.addons)]
    quoted_period = _recurring(first) or period_lines(new_items, start=period_start, end=period_end)
    current_plan = await repository.get_plan(session, subscription.plan_code)
    current_period = period_lines(
        await subscription_items(session, subscription, current_plan), start=period_start, end=period_end
    )
    return Priced(
        lines=lines,
        recurring_total=_following_period_total(quoted_period, planned.new_plan, after_uses(terms, uses), tz),
        current_recurring_amount=_following_period_total(current_period, current_plan, running, tz),
        effective_at=planned.effective_at,
        currency=planned.new_plan.currency,
    )


def quote_data(quote: Quote) -> QuoteData:
    return QuoteData(
        id=quote.id,
        number=quote.number,
        status=quote.status,
        subscription_id=quote.subscription_id,
        customer_id=quote.customer_id,
        when=quote.when,
        currency=quote.currency,
        total=quote.total,
        recurring_total=quote.recurring_total,
        current_recurring_amount=quote.current_recurring_amount,
        effective_at=quote.effective_at,
        expires_at=quote.expires_at,
    )


async def _announce(session: AsyncSession, quote: Quote, verb: str, at: datetime) -> None:
    await add_event(
        session,
        source=SERVICE,
        topic=QUOTES,
        event_type=f"quote.{verb}",
        customer_id=quote.customer_id,
        data=quote_data(quote),
        business_time=at,
        clock_id=quote.clock_id,
    )


def _set_figures(quote: Quote, priced: Priced, approval_limit: int | None) -> None:
    totals = figures(priced.lines)
    quote.lines = [line.model_dump(mode="json") for line in priced.lines]
    quote.subtotal, quote.discount, quote.total = totals.subtotal, totals.discount, totals.total
    quote.recurring_total = priced.recurring_total
    quote.current_recurring_amount = priced.current_recurring_amount
    quote.effective_at = priced.effective_at
    quote.currency = priced.currency
    quote.requires_approval = needs_approval(totals, approval_limit)


async def create_quote(session: AsyncSession, *, data: QuoteIn) -> Quote:
    """A draft, priced now; refusals (a cancelled subscription, a change that changes nothing, an
    unknown plan, add-on or coupon, a coupon that does not apply) raise before anything is stored."""
    subscription = await repository.get_subscription(session, data.subscription_id)
    now = await business_now(session, subscription.clock_id)
    if data.expires_at is not None and data.expires_at <= now:
        raise InvalidQuoteExpiry(f"expires_at must be after now ({now.isoformat()}).")
    priced = await _price(session, subscription, data, now)
    settings = await repository.get_settings(session)
    quote = Quote(
        id=new_id("qt"),
        status=QuoteStatus.DRAFT,
        subscription_id=subscription.id,
        customer_id=subscription.customer_id,
        clock_id=subscription.clock_id,
        when=data.when,
        plan_code=data.plan_code,
        quantity=data.quantity,
        addons=[ref.model_dump() for ref in data.addons] if data.addons is not None else None,
        coupon_code=data.coupon_code,
        note=data.note,
        expires_at=data.expires_at,
    )
    _set_figures(quote, priced, settings.quote_approval_percent_off)
    session.add(quote)
    await session.flush()
    await _announce(session, quote, "created", now)
    return quote


async def get_quote(session: AsyncSession, quote_id: str, *, for_update: bool = False) -> Quote:
    quote = await session.get(Quote, quote_id, with_for_update=for_update)
    if quote is None:
        raise QuoteNotFound(f"No quote {quote_id}.")
    return quote


async def list_quotes(
    session: AsyncSession,
    page: Page,
    *,
    subscription_id: str | None,
    status: str | None,
    customer_id: str | None = None,
    finalized_only: bool = False,
) -> tuple[list[Quote], bool]:
    statement = select(Quote).where(Quote.status != QuoteStatus.DRAFT) if finalized_only else select(Quote)
    filters = {Quote.subscription_id: subscription_id, Quote.status: status, Quote.customer_id: customer_id}
    return await paginate(session, statement, Quote.id, page, filters=filters)


def _require(quote: Quote, *statuses: QuoteStatus) -> None:
    if quote.status not in statuses:
        wanted = " or ".join(statuses)
        raise QuoteNotOpen(f"Quote {quote.id} is {quote.status}; this needs a {wanted} quote.")


async def approve_quote(session: AsyncSession, *, quote_id: str) -> Quote:
    quote = await get_quote(session, quote_id, for_update=True)
    if quote.approved_at is not None:
        return quote
    _require(quote, QuoteStatus.DRAFT)
    now = await business_now(session, quote.clock_id)
    quote.approved_at = now
    await _announce(session, quote, "approved", now)
    return quote


async def finalize_quote(session: AsyncSession, *, quote_id: str) -> Quote:
    quote = await get_quote(session, quote_id, for_update=True)
    if quote.status == QuoteStatus.OPEN:
        return quote
    _require(quote, QuoteStatus.DRAFT)
    if quote.requires_approval and quote.approved_at is None:
        raise QuoteRequiresApproval(
            f"Quote {quote.id} takes {quote.discount} off {quote.subtotal}: above the account's quote_approval_percent_off, "
            "so an admin must approve it first."
        )
    now = await business_now(session, quote.clock_id)
    quote.move_to(QuoteStatus.OPEN)
    quote.number = await next_number(session, "quote", "Q")
    quote.finalized_at = now
    quote.expires_at = expiry(now, quote.expires_at)
    await schedule_job(
        session,
        kind=QUOTE_EXPIRY,
        key=f"{QUOTE_EXPIRY}:{quote.id}",
        due_at=quote.expires_at,
        clock_id=quote.clock_id,
        payload={"quote_id": quote.id},
    )
    await _announce(session, quote, "finalized", now)
    return quote


async def _close(session: AsyncSession, quote: Quote, status: QuoteStatus, verb: str, at: datetime) -> Quote:
    quote.move_to(status)
    quote.closed_at = at
    await cancel_job(session, key=f"{QUOTE_EXPIRY}:{quote.id}")
    await _announce(session, quote, verb, at)
    return quote


async def accept_quote(session: AsyncSession, *, quote_id: str) -> Quote:
    """Make the quoted change, once: accepting an accepted quote returns it unchanged."""
    quote = await get_quote(session, quote_id, for_update=True)
    if quote.status == QuoteStatus.ACCEPTED:
        return quote
    _require(quote, QuoteStatus.OPEN)
    subscription = await repository.get_subscription(session, quote.subscription_id, for_update=True)
    now = await business_now(session, quote.clock_id)
    if quote.expires_at is not None and now >= quote.expires_at:
        raise QuoteExpired(f"Quote {quote.id} expired at {quote.expires_at.isoformat()}.")
    priced = await _price(session, subscription, quote, now)
    if (figures(priced.lines).total, priced.recurring_total) != (quote.total, quote.recurring_total):
        raise QuoteStale(
            f"Quote {quote.id} would now bill {figures(priced.lines).total} (quoted {quote.total}): the subscription "
            "changed since. Ask for a new quote."
        )
    change = _change_of(quote).model_copy(update={"coupon_code": quote.coupon_code})
    await changes.change_subscription(session, subscription_id=subscription.id, change=change)
    return await _close(session, quote, QuoteStatus.ACCEPTED, "accepted", now)


async def decline_quote(session: AsyncSession, *, quote_id: str) -> Quote:
    quote = await get_quote(session, quote_id, for_update=True)
    if quote.status == QuoteStatus.DECLINED:
        return quote
    _require(quote, QuoteStatus.OPEN)
    return await _close(session, quote, QuoteStatus.DECLINED, "declined", await business_now(session, quote.clock_id))


async def cancel_quote(session: AsyncSession, *, quote_id: str) -> Quote:
    quote = await get_quote(session, quote_id, for_update=True)
    if quote.status == QuoteStatus.CANCELLED:
        return quote
    _require(quote, QuoteStatus.DRAFT, QuoteStatus.OPEN)
    return await _close(session, quote, QuoteStatus.CANCELLED, "cancelled", await business_now(session, quote.clock_id))


async def expire_quote(session: AsyncSession, job: ScheduledJob) -> None:
    """Due work: an open quote past its expiry expires (one accepted or closed meanwhile stays)."""
    quote = await get_quote(session, job.payload["quote_id"], for_update=True)
    if quote.status == QuoteStatus.OPEN:
        await _close(session, quote, QuoteStatus.EXPIRED, "expired", job.due_at)
