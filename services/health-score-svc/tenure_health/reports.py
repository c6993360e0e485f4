"""Retention reporting and renewals: MRR facts kept from the bus, and the reports built from them."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_health import mrr, retention
from tenure_health.errors import CurrencyRequired, InvalidReportInterval, InvalidReportWindow
from tenure_health.models import HealthCustomer, MrrInvoice, MrrState, RenewalQuote
from tenure_shared.events import InvoiceData, QuoteData, SubscriptionData
from tenure_shared.money import format_amount, round_half_up

INTERVAL_STEPS = {"day": relativedelta(days=1), "week": relativedelta(weeks=1), "month": relativedelta(months=1)}
MAX_SERIES_POINTS = 1000
MAX_RENEWAL_DAYS = 366


# ---- facts from the bus -------------------------------------------------------------------------------


async def record_subscription_state(
    session: AsyncSession, *, event_id: str, verb: str, data: SubscriptionData, clock_id: str | None, at: datetime
) -> None:
    """One state per subscription event: the subscription from `at` on, as MRR sees it."""
    previous = await _latest_state(session, data.id)
    if verb == "cancellation_scheduled":
        cancelling = True
    elif verb in ("reactivated", "cancelled", "expired"):
        cancelling = False
    else:
        cancelling = bool(previous and previous.cancellation_scheduled)
    interval, interval_count = data.plan_interval or "month", data.plan_interval_count or 1
    period = data.recurring_amount_after_discounts
    monthly = mrr.subscription_mrr(
        status=data.status, on_free_plan=data.on_free_plan, period_amount=period, interval=interval, interval_count=interval_count
    )
    next_renewal = data.next_renewal
    if next_renewal is not None:
        next_period = next_renewal.recurring_amount_after_discounts
        next_monthly = mrr.monthly(next_period, next_renewal.interval, next_renewal.interval_count)
    session.add(
        MrrState(
            event_id=event_id,
            subscription_id=data.id,
            customer_id=data.customer_id,
            clock_id=clock_id,
            currency=data.currency,
            at=at,
            verb=verb,
            status=data.status,
            paused=data.status == "paused",
            on_free_plan=data.on_free_plan,
            plan_code=data.plan_code,
            interval=interval,
            interval_count=interval_count,
            period_amount=period,
            mrr_numerator=monthly.numerator,
            mrr_denominator=monthly.denominator,
            current_period_end=data.current_period_end,
            billing_reason=data.billing_reason,
            cancellation_scheduled=cancelling,
            next_plan_code=next_renewal.plan_code if next_renewal else None,
            next_period_amount=next_period if next_renewal else None,
            next_mrr_numerator=next_monthly.numerator if next_renewal else None,
            next_mrr_denominator=next_monthly.denominator if next_renewal else None,
        )
    )


async def _latest_state(session: AsyncSession, subscription_id: str) -> MrrState | None:
    statement = (
        select(MrrState).where(MrrState.subscription_id == subscription_id).order_by(MrrState.at.desc(), MrrState.id.desc())
    )
    return (await session.execute(statement.limit(1))).scalar_one_or_none()


async def record_invoice(session: AsyncSession, *, data: InvoiceData, clock_id: str | None, at: datetime) -> None:
    row = await session.get(MrrInvoice, data.id, with_for_update=True)
    if row is None:
        row = MrrInvoice(
            id=data.id,
            customer_id=data.customer_id,
            clock_id=clock_id,
            currency=data.currency,
            subscription_id=data.subscription_id,
            source_event_id=data.source_event_id,
            issued_at=at,
        )
        session.add(row)
    row.status, row.total = data.status, data.total
    await session.flush()


async def record_quote(session: AsyncSession, *, data: QuoteData, at: datetime) -> None:
    row = await session.get(RenewalQuote, data.id, with_for_update=True)
    if row is None:
        row = RenewalQuote(id=data.id, subscription_id=data.subscription_id)
        session.add(row)
    row.number, row.status, row.currency, row.updated_at = data.number, data.status, data.currency, at
    row.recurring_total, row.current_recurring_amount = data.recurring_total, data.current_recurring_amount
    await session.flush()


# ---- the retention report -----------------------------------------------------------------------------


def check_window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if start is None or end is None or start >= end:
        raise InvalidReportWindow("A report needs `from` before `to` (ISO 8601 instants with a time zone).")
    return start, end


async def _states(session: AsyncSession, *, clock_id: str | None, end: datetime) -> list[Any]:
    """The clock's states up to `end` as plain rows (attribute access like MrrState; no ORM identity
    map, several times faster over a year of a large population)."""
    clock = MrrState.clock_id == clock_id if clock_id else MrrState.clock_id.is_(None)
    statement = (
        select(*MrrState.__table__.columns)
        .where(clock, MrrState.at <= end)
        .order_by(MrrState.subscription_id, MrrState.at, MrrState.id)
    )
    return list(await session.execute(statement))


def _currency(states: list[Any], currency: str | None) -> str | None:
    if currency:
        return currency.upper()
    found = {s.currency for s in states}
    if len(found) > 1:
        raise CurrencyRequired(f"These customers bill in {', '.join(sorted(found))}: give `currency`.")
    return found.pop() if found else None


def _histories(states: list[Any], currency: str | None) -> dict[str, retention.History]:
    histories: dict[str, retention.History] = {}
    for s in states:
        if s.currency != currency:
            continue
        history = histories.setdefault(s.subscription_id, retention.History(s.subscription_id, s.customer_id))
        history.states.append(
            retention.State(
                at=s.at, mrr=Fraction(s.mrr_numerator, s.mrr_denominator), paused=s.paused, period_end=s.current_period_end
            )
        )
    return histories


async def retention_report(
    session: AsyncSession, *, start: datetime, end: datetime, currency: str | None, clock_id: str | None
) -> dict[str, Any]:
    start, end = check_window(start, end)
    states = await _states(session, clock_id=clock_id, end=end)
    currency = _currency(states, currency)
    histories = _histories(states, currency)
    renewal_events = {s.event_id: s for s in states if s.verb == "renewed" and s.currency == currency}
    clock = MrrInvoice.clock_id == clock_id if clock_id else MrrInvoice.clock_id.is_(None)
    invoices = list((await session.execute(select(MrrInvoice).where(clock, MrrInvoice.currency == currency))).scalars())
    voided = {i.source_event_id for i in invoices if i.status == "void"}
    for event_id, state in renewal_events.items():
        if event_id not in voided:
            histories[state.subscription_id].renewed_at.add(state.at)
    reasons = {s.event_id: s.billing_reason for s in states}
    deals = [
        i.total
        for i in invoices
        if start <= i.issued_at < end and i.status == "paid" and reasons.get(i.source_event_id) in retention.DEAL_REASONS
    ]
    moves = sum(1 for s in states if s.verb == "moved_to_free_plan" and s.currency == currency and start <= s.at < end)
    result = retention.figures(histories.values(), start=start, end=end, deals=deals, free_plan_moves=moves)
    return retention.rounded_report(result, currency=currency, start=start, end=end)


async def mrr_series(
    session: AsyncSession, *, start: datetime, end: datetime, interval: str, currency: str | None, clock_id: str | None
) -> dict[str, Any]:
    """MRR at `from` and at every step of `interval` after it, up to and including `to`."""
    start, end = check_window(start, end)
    if interval not in INTERVAL_STEPS:
        raise InvalidReportInterval("`interval` is one of day, week, month.")
    instants = []
    step = 0
    while (instant := start + INTERVAL_STEPS[interval] * step) < end:
        instants.append(instant)
        step += 1
        if len(instants) > MAX_SERIES_POINTS:
            raise InvalidReportWindow(f"A series has at most {MAX_SERIES_POINTS} points: use a longer interval.")
    instants.append(end)
    states = await _states(session, clock_id=clock_id, end=end)
    currency = _currency(states, currency)
    histories = list(_histories(states, currency).values())
    data = [{"at": at, "mrr": round_half_up(sum((h.mrr_at(at) for h in histories), Fraction(0)))} for at in instants]
    return {"currency": currency, "from": start, "to": end, "interval": interval, "data": data}


# ---- renewals -------------------------------------------------------------------------------------------------


async def renewals(
    session: AsyncSession, *, now: datetime, within_days: int, clock_id: str | None, forecast: str | None, sort: str | None
) -> list[dict[str, Any]]:
    """Live subscriptions renewing within `within_days` of `now`, with what they are expected to bring."""
    if not 1 <= within_days <= MAX_RENEWAL_DAYS:
        raise InvalidReportWindow(f"`within_days` is between 1 and {MAX_RENEWAL_DAYS}.")
    latest: dict[str, Any] = {}
    for state in await _states(session, clock_id=clock_id, end=now):
        latest[state.subscription_id] = state
    horizon = now + timedelta(days=within_days)
    due = [
        s
        for s in latest.values()
        if s.status not in ("cancelled", "expired") and s.current_period_end and now <= s.current_period_end <= horizon
    ]
    health = await _health(session, {s.customer_id for s in due})
    quotes = await _renewal_quotes(session, {s.subscription_id for s in due})
    items = []
    for s in due:
        score, status = health.get(s.customer_id, (None, None))
        quote = quotes.get(s.subscription_id)
        outlook, reasons = renewal_forecast(s, status, quote)
        items.append(
            {
                "subscription_id": s.subscription_id,
                "customer_id": s.customer_id,
                "renews_at": s.current_period_end,
                "plan_code": s.plan_code,
                "interval": s.interval,
                "expected_amount": _expected_amount(s),
                "currency": s.currency,
                "mrr": round_half_up(Fraction(s.mrr_numerator, s.mrr_denominator)),
                "health": {"score": score, "status": status},
                "forecast": outlook,
                "reasons": reasons,
                "quote": {"id": quote.id, "status": quote.status} if quote else None,
            }
        )
    if forecast:
        items = [i for i in items if i["forecast"] == forecast]
    key, reverse = RENEWAL_SORTS[sort or "renews_at"]
    return sorted(items, key=lambda i: (key(i), i["subscription_id"]), reverse=reverse)


def _expected_amount(state: Any) -> int:
    """What the renewal invoice bills for the period (scheduled changes in force, running discounts off)."""
    if state.next_period_amount is not None:
        return state.next_period_amount
    return 0 if state.on_free_plan else state.period_amount


RENEWAL_SORTS = {
    "renews_at": (lambda i: i["renews_at"], False),
    "-renews_at": (lambda i: i["renews_at"], True),
    "expected_amount": (lambda i: i["expected_amount"], False),
    "-expected_amount": (lambda i: i["expected_amount"], True),
    "mrr": (lambda i: i["mrr"], False),
    "-mrr": (lambda i: i["mrr"], True),
}
FORECASTS = ("renew", "upsell", "downgrade", "churn", "at_risk")


def renewal_forecast(state: Any, health_status: str | None, quote: Any = None) -> tuple[str, list[str]]:
    """The likely outcome of the renewal and every reason for it (the first reason decides)."""
    reasons: list[tuple[str, str]] = []
    if state.cancellation_scheduled:
        reasons.append(("churn", "a cancellation is scheduled at the end of the period"))
    if state.next_plan_code is not None:
        now = Fraction(state.mrr_numerator, state.mrr_denominator)
        after = Fraction(state.next_mrr_numerator, state.next_mrr_denominator)
        change = f"a scheduled change to {state.next_plan_code} takes MRR from {round_half_up(now)} to {round_half_up(after)}"
        if after < now:
            reasons.append(("downgrade", change))
        elif after > now:
            reasons.append(("upsell", change))
    if quote is not None and quote.status == "open":
        today, quoted = quote.current_recurring_amount, quote.recurring_total
        offer = (
            f"open quote {quote.number} takes each period from {format_amount(today, quote.currency)}"
            f" to {format_amount(quoted, quote.currency)}"
        )
        if quoted < today:
            reasons.append(("downgrade", offer))
        elif quoted > today:
            reasons.append(("upsell", offer))
    if state.paused:
        reasons.append(("at_risk", "the subscription is paused"))
    if health_status in ("at_risk", "critical"):
        reasons.append(("at_risk", f"customer health is {health_status}"))
    return (reasons[0][0] if reasons else "renew"), [reason for _, reason in reasons]


async def _renewal_quotes(session: AsyncSession, subscription_ids: set[str]) -> dict[str, RenewalQuote]:
    """Each subscription's quote to show: an open one if any, else the one changed last."""
    if not subscription_ids:
        return {}
    rows = await session.scalars(select(RenewalQuote).where(RenewalQuote.subscription_id.in_(subscription_ids)))
    shown: dict[str, RenewalQuote] = {}
    for quote in sorted(rows, key=lambda q: (q.status == "open", q.updated_at, q.id)):
        shown[quote.subscription_id] = quote  # the last one sorted wins
    return shown


async def _health(session: AsyncSession, customer_ids: set[str]) -> dict[str, tuple[int | None, str | None]]:
    if not customer_ids:
        return {}
    rows = await session.execute(
        select(HealthCustomer.id, HealthCustomer.score, HealthCustomer.status).where(HealthCustomer.id.in_(customer_ids))
    )
    return {row.id: (row.score, row.status) for row in rows}
