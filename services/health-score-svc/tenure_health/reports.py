"""Retention reporting and renewals: MRR facts kept from the bus, and the reports built from them."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, Literal

from dateutil.relativedelta import relativedelta
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_health import mrr, retention
from tenure_health.errors import CurrencyRequired, InvalidReportInterval, InvalidReportWindow
from tenure_health.models import HealthCustomer, MrrInvoice, MrrState, RenewalQuote
from tenure_shared.events import InvoiceData, QuoteData, SubscriptionData
from tenure_shared.money import format_amount, round_half_up

INTERVAL_STEPS = {"day": relativedelta(days=1), "week": relativedelta(weeks=1), "month": relativedelta(months=1)}
MAX_SERIES_POINTS = 1000
MAX_RENEWAL_DAYS = 366
REPORT_WORK_MEM = "128MB"


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
    state = MrrState(
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
    session.add(state)
    await session.flush()
    await state_added(session, state)


async def state_added(session: AsyncSession, state: MrrState) -> None:
    """The facts a new (flushed) state changes: its subscription's successor facts, and whether the invoices of
    its event are deals."""
    await link_states(session, "subscription_id", state.subscription_id)
    if state.billing_reason in retention.DEAL_REASONS:
        await link_deals(session, "source_event_id", state.event_id)


async def _latest_state(session: AsyncSession, subscription_id: str) -> MrrState | None:
    statement = (
        select(MrrState).where(MrrState.subscription_id == subscription_id).order_by(MrrState.at.desc(), MrrState.id.desc())
    )
    return (await session.execute(statement.limit(1))).scalar_one_or_none()


async def record_invoice(session: AsyncSession, *, data: InvoiceData, clock_id: str | None, at: datetime) -> None:
    row = await session.get(MrrInvoice, data.id, with_for_update=True)
    new = row is None
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
    was_void = row.status == "void"
    row.status, row.total = data.status, data.total
    await session.flush()
    if new and data.source_event_id:
        await link_deals(session, "source_event_id", data.source_event_id)
    if data.subscription_id and was_void != (data.status == "void"):
        # Voiding a renewal's invoice un-renews the renewal date it was issued at.
        await link_states(session, "subscription_id", data.subscription_id)


# Each state's successor facts (see MrrState), recomputed over its whole subscription, so a state arriving out
# of (at, id) order, or a renewal's invoice voided before or after the renewal arrives, leaves them right; only
# the rows whose facts change are written. `renewals`: the instants a renewal was issued and its invoice not
# voided. Event handlers lock the customer's row first (service.customer_for): the states and the invoices of
# one subscription are linked one transaction at a time.
_LINK_STATES = """
WITH renewals AS (
    SELECT DISTINCT r.subscription_id, r.at FROM health_mrr_states r
    WHERE r.{scope} = :key AND r.verb = 'renewed' AND NOT EXISTS (
        SELECT 1 FROM health_mrr_invoices i
        WHERE i.source_event_id = r.event_id AND i.status = 'void' AND i.currency = r.currency
          AND i.clock_id IS NOT DISTINCT FROM r.clock_id)
),
linked AS (
    SELECT s.id,
           coalesce(lead(s.at) OVER subscription, 'infinity') AS next_at,
           coalesce(min(s.at) FILTER (WHERE s.mrr_numerator > 0) OVER whole, 'infinity') AS first_mrr_at,
           n.at IS NOT NULL AS renewed
    FROM health_mrr_states s
    LEFT JOIN renewals n ON n.subscription_id = s.subscription_id AND n.at = s.current_period_end
    WHERE s.{scope} = :key
    WINDOW subscription AS (PARTITION BY s.subscription_id ORDER BY s.at, s.id),
           whole AS (PARTITION BY s.subscription_id)
)
UPDATE health_mrr_states s SET next_at = l.next_at, first_mrr_at = l.first_mrr_at, renewed = l.renewed
FROM linked l
WHERE s.id = l.id AND (s.next_at, s.first_mrr_at, s.renewed) IS DISTINCT FROM (l.next_at, l.first_mrr_at, l.renewed)
"""


async def link_states(session: AsyncSession, scope: Literal["subscription_id", "clock_id"], key: str) -> None:
    """Recompute the successor facts of one subscription's states (as its events arrive) or of a whole test
    clock's (after a bulk load)."""
    await session.execute(text(_LINK_STATES.format(scope=scope)), {"key": key})


# An invoice is a deal when the subscription event it bills (its source, on its clock) was a new subscription or a
# renewal: it keeps that event's instant (`deal_at`), whichever of the two arrived first.
_LINK_DEALS = """
UPDATE health_mrr_invoices i SET deal_at = s.at
FROM health_mrr_states s
WHERE i.{scope} = :key AND s.event_id = i.source_event_id AND s.clock_id IS NOT DISTINCT FROM i.clock_id
  AND s.billing_reason IN ('subscription_create', 'subscription_cycle') AND i.deal_at IS DISTINCT FROM s.at
"""


async def link_deals(session: AsyncSession, scope: Literal["source_event_id", "clock_id"], key: str) -> None:
    """Mark the invoices of one subscription event (as the event or an invoice arrives) or of a whole test clock
    (after a bulk load) as deals."""
    await session.execute(text(_LINK_DEALS.format(scope=scope)), {"key": key})


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


def _clock(column: str, clock_id: str | None) -> str:
    """The SQL condition for one clock's rows (real time: no clock), so the (clock_id, …) indexes serve it."""
    return f"{column} = :clock_id" if clock_id else f"{column} IS NULL"


def _currency(found: set[str], currency: str | None) -> str | None:
    if currency:
        return currency.upper()
    if len(found) > 1:
        raise CurrencyRequired(f"These customers bill in {', '.join(sorted(found))}: give `currency`.")
    return found.pop() if found else None


# The states in force at `from` and at `to` (a state is in force from its instant until its successor's, `next_at`),
# each set read from whichever of the (clock, at) and (clock, next_at) indexes holds fewer of the clock's
# states, index only. Then each customer's MRR at each end (by currency: its subscriptions in another currency
# belong to another report), exact as an integer over one common denominator (`scale`, the lcm of the
# denominators present; bigint, whose overflow is an error, not a wrong figure), classified as retention.classify
# does it; then per movement: customers and amounts.
# A customer had MRR before `from` if one of its subscriptions' first instant with MRR came before.
_MOVEMENTS = """
WITH in_force AS (
    SELECT true AS at_start, customer_id, currency, paused, mrr_numerator, mrr_denominator, first_mrr_at
    FROM health_mrr_states WHERE {clock} AND at <= :start AND next_at > :start
    UNION ALL
    SELECT false, customer_id, currency, paused, mrr_numerator, mrr_denominator, first_mrr_at
    FROM health_mrr_states WHERE {clock} AND at <= :end AND next_at > :end
),
scale AS (SELECT health_lcm(mrr_denominator) AS scale FROM (SELECT DISTINCT mrr_denominator FROM in_force) AS denominators),
customers AS (
    SELECT currency,
           coalesce(sum(mrr_numerator * (scale / mrr_denominator)) FILTER (WHERE at_start), 0) AS start_mrr,
           coalesce(sum(mrr_numerator * (scale / mrr_denominator)) FILTER (WHERE NOT at_start), 0) AS end_mrr,
           coalesce(bool_or(paused) FILTER (WHERE at_start), false) AS paused_at_start,
           coalesce(bool_or(paused) FILTER (WHERE NOT at_start), false) AS paused_at_end,
           min(first_mrr_at) < :start AS had_mrr_before
    FROM in_force CROSS JOIN scale
    GROUP BY customer_id, currency
),
classified AS (
    SELECT currency, start_mrr, end_mrr,
           CASE WHEN start_mrr = 0 AND end_mrr > 0 THEN
                    CASE WHEN paused_at_start THEN 'resumed' WHEN had_mrr_before THEN 'reactivation' ELSE 'new' END
                WHEN start_mrr > 0 AND end_mrr = 0 THEN CASE WHEN paused_at_end THEN 'paused' ELSE 'churn' END
                WHEN start_mrr > 0 AND end_mrr > start_mrr THEN 'expansion'
                WHEN start_mrr > 0 AND end_mrr < start_mrr THEN 'contraction'
           END AS movement
    FROM customers
)
SELECT currency, movement, count(*) AS customers, sum(abs(end_mrr - start_mrr)) AS amount,
       sum(start_mrr) AS mrr_start, sum(end_mrr) AS mrr_end, count(*) FILTER (WHERE start_mrr > 0) AS with_start,
       (SELECT scale FROM scale) AS scale
FROM classified
GROUP BY currency, movement
"""

# The renewal dates that fell in the window, by MRR denominator (sums of fractions stay exact per denominator):
# a state's period end with its MRR in force just before it (the state is the last one before its period
# end), renewed if a renewal, not voided, was issued then. The partial index holds exactly these states.
_RENEWALS = """
SELECT mrr_denominator AS den, count(*) AS due, count(*) FILTER (WHERE renewed) AS renewed,
       sum(mrr_numerator) AS value_due, coalesce(sum(mrr_numerator) FILTER (WHERE renewed), 0) AS value_renewed
FROM health_mrr_states
WHERE {state_clock} AND currency = :currency AND current_period_end >= :start AND current_period_end < :end
  AND mrr_numerator > 0 AND at < current_period_end AND current_period_end <= next_at
GROUP BY mrr_denominator
"""

_FREE_PLAN_MOVES = """
SELECT count(*) FROM health_mrr_states
WHERE {state_clock} AND currency = :currency AND verb = 'moved_to_free_plan' AND at >= :start AND at < :end
"""

# Paid invoices issued in the window for a new subscription or a renewal (see _LINK_DEALS), index only.
_DEALS = """
SELECT count(*) AS deal_count, coalesce(sum(total), 0) AS deal_total
FROM health_mrr_invoices
WHERE {invoice_clock} AND currency = :currency AND status = 'paid' AND deal_at IS NOT NULL
  AND issued_at >= :start AND issued_at < :end AND deal_at <= :end
"""


async def retention_report(
    session: AsyncSession, *, start: datetime, end: datetime, currency: str | None, clock_id: str | None
) -> dict[str, Any]:
    start, end = check_window(start, end)
    # Room to group a large clock's customers in memory (a hash, not a sort spilled to disk), for this report only.
    await session.execute(text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
    params = {"start": start, "end": end, "clock_id": clock_id}
    state_clock = _clock("clock_id", clock_id)
    rows = (await session.execute(text(_MOVEMENTS.format(clock=state_clock)), params)).all()
    currency = _currency({row.currency for row in rows}, currency)
    movements = {row.movement: row for row in rows if row.currency == currency}
    scale = int(rows[0].scale) if rows else 1
    params["currency"] = currency
    totals = (await session.execute(text(_RENEWALS.format(state_clock=state_clock)), params)).all()
    renewals = retention.Renewals(
        due=sum(row.due for row in totals),
        renewed=sum(row.renewed for row in totals),
        value_due=sum((Fraction(int(row.value_due), row.den) for row in totals), Fraction(0)),
        value_renewed=sum((Fraction(int(row.value_renewed), row.den) for row in totals), Fraction(0)),
    )
    free_plan_moves = (await session.execute(text(_FREE_PLAN_MOVES.format(state_clock=state_clock)), params)).scalar_one()
    deals = _DEALS.format(invoice_clock=_clock("clock_id", clock_id))
    deal_count, deal_total = (await session.execute(text(deals), params)).one()
    result = retention.RetentionFigures(
        mrr_start=Fraction(sum(int(row.mrr_start) for row in movements.values()), scale),
        mrr_end=Fraction(sum(int(row.mrr_end) for row in movements.values()), scale),
        movements={
            name: Fraction(int(movements[name].amount) if name in movements else 0, scale) for name in retention.MOVEMENTS
        },
        customers={name: movements[name].customers if name in movements else 0 for name in retention.MOVEMENTS},
        customers_with_start=sum(row.with_start for row in movements.values()),
        renewals=renewals,
        deal_count=deal_count,
        deal_total=int(deal_total),
        free_plan_moves=free_plan_moves,
    )
    return retention.rounded_report(result, currency=currency, start=start, end=end)


# MRR changes at the points of the series: each state adds its MRR from the first point at or after its instant
# and takes it away from the first point at or after its successor's (`next_at`, 'infinity' for the last: never);
# a point's index is the number of points before the instant (a state of zero MRR changes nothing but names its
# currency, as before). Summed by currency, point and MRR
# denominator, no window: the series is the running total of these, point by point.
_MRR_CHANGES = """
WITH changes AS (
    SELECT currency, mrr_denominator AS den, mrr_numerator AS num, at AS instant
    FROM health_mrr_states WHERE {state_clock} AND at <= :end
    UNION ALL
    SELECT currency, mrr_denominator, -mrr_numerator, next_at
    FROM health_mrr_states WHERE {state_clock} AND next_at <= :end
)
SELECT currency, den, sum(num) AS num,
       width_bucket(instant, CAST(:instants AS timestamptz[])) - (instant = ANY(CAST(:instants AS timestamptz[])))::int AS point
FROM changes
GROUP BY currency, point, den
"""


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
    statement = text(_MRR_CHANGES.format(state_clock=_clock("clock_id", clock_id)))
    rows = (await session.execute(statement, {"end": end, "clock_id": clock_id, "instants": instants})).all()
    currency = _currency({row.currency for row in rows}, currency)
    changes: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))  # point -> denominator -> numerator
    for row in rows:
        if row.currency == currency:
            changes[row.point][row.den] += int(row.num)  # a numeric sum: Decimal
    running: dict[int, int] = defaultdict(int)
    data = []
    for point, at in enumerate(instants):
        for denominator, numerator in changes[point].items():
            running[denominator] += numerator
        data.append({"at": at, "mrr": round_half_up(sum((Fraction(n, d) for d, n in running.items()), Fraction(0)))})
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
