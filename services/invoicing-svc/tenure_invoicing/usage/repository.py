"""Usage billing's queries (the ingestion route's single statement lives in ingestion.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_invoicing.usage.models import UsageBilling, UsageMetric, UsagePlanInterval, UsageSubscription
from tenure_invoicing.usage.periods import Interval

# The number an event contributes to sum / max: its `value`, or a numeric property (a JSON number
# or a decimal string; anything else counts as nothing, never as an error in the middle of billing).
_PROPERTY_NUMBER = (
    "(CASE WHEN jsonb_typeof(properties -> :property) = 'number' AND (properties ->> :property)::numeric >= 0"
    " THEN (properties ->> :property)::numeric"
    " WHEN (properties ->> :property) ~ '^[0-9]+([.][0-9]+)?$' THEN (properties ->> :property)::numeric END)"
)


def quantity_expression(aggregation: str, prop: str | None) -> str:
    """SQL for a metric's aggregate over the selected usage events."""
    if aggregation == "count":
        return "count(*)"
    if aggregation == "unique_count":
        return "count(DISTINCT properties ->> :property)" if prop else "count(DISTINCT value)"
    number = _PROPERTY_NUMBER if prop else "value"
    return f"coalesce({'max' if aggregation == 'max' else 'sum'}({number}), 0)"


async def aggregate(
    session: AsyncSession,
    *,
    customer_id: str,
    subscription_id: str,
    metric_code: str,
    aggregation: str,
    prop: str | None,
    start: datetime,
    end: datetime,
    foreign: list[tuple[datetime, datetime]],
) -> Decimal:
    """The metric's aggregate over the subscription's events in [start, end): events naming it, and the
    customer's events naming no subscription except where another subscription owns those."""
    statement = text(
        f"SELECT {quantity_expression(aggregation, prop)} FROM usage_events"
        " WHERE customer_id = :customer_id AND metric_code = :metric_code"
        " AND occurred_at >= :start AND occurred_at < :end"
        " AND (subscription_id = :subscription_id OR (subscription_id IS NULL AND NOT EXISTS ("
        "   SELECT 1 FROM unnest(CAST(:foreign_from AS timestamptz[]), CAST(:foreign_to AS timestamptz[])) AS f(lo, hi)"
        "   WHERE occurred_at >= f.lo AND occurred_at < f.hi)))"
    )
    params = {
        "customer_id": customer_id,
        "subscription_id": subscription_id,
        "metric_code": metric_code,
        "start": start,
        "end": end,
        "foreign_from": [lo for lo, _ in foreign],
        "foreign_to": [hi for _, hi in foreign],
    }
    if prop:
        params["property"] = prop
    return Decimal(await session.scalar(statement, params))


async def get_state(session: AsyncSession, subscription_id: str, *, for_update: bool = False) -> UsageSubscription | None:
    return await session.get(UsageSubscription, subscription_id, with_for_update=for_update)


async def open_interval(session: AsyncSession, subscription_id: str) -> UsagePlanInterval | None:
    return await session.scalar(
        select(UsagePlanInterval)
        .where(UsagePlanInterval.subscription_id == subscription_id, UsagePlanInterval.valid_to.is_(None))
        .order_by(UsagePlanInterval.id.desc())
        .limit(1)
    )


def _interval(row: UsagePlanInterval) -> Interval:
    return Interval(row.subscription_id, row.valid_from, row.valid_to, row.status, row.plan_code, tuple(row.charges))


async def intervals(session: AsyncSession, subscription_id: str, start: datetime, end: datetime) -> list[Interval]:
    """The subscription's plan intervals overlapping [start, end)."""
    rows = await session.scalars(
        select(UsagePlanInterval)
        .where(
            UsagePlanInterval.subscription_id == subscription_id,
            UsagePlanInterval.valid_from < end,
            (UsagePlanInterval.valid_to.is_(None)) | (UsagePlanInterval.valid_to > start),
        )
        .order_by(UsagePlanInterval.valid_from, UsagePlanInterval.id)
    )
    return [_interval(r) for r in rows]


async def intervals_of_earlier_subscriptions(
    session: AsyncSession, state: UsageSubscription, start: datetime, end: datetime
) -> list[Interval]:
    """Intervals over [start, end) of the customer's subscriptions that rank before this one (started
    earlier, or at the same instant with a smaller id): they own untargeted events first."""
    rows = await session.scalars(
        select(UsagePlanInterval)
        .join(UsageSubscription, UsageSubscription.id == UsagePlanInterval.subscription_id)
        .where(
            UsagePlanInterval.customer_id == state.customer_id,
            UsagePlanInterval.subscription_id != state.id,
            tuple_(UsageSubscription.started_at, UsageSubscription.id) < tuple_(state.started_at, state.id),
            UsagePlanInterval.valid_from < end,
            (UsagePlanInterval.valid_to.is_(None)) | (UsagePlanInterval.valid_to > start),
        )
    )
    return [_interval(r) for r in rows]


async def billed_windows(session: AsyncSession, subscription_id: str, *, ending_after: datetime) -> list[UsageBilling]:
    """The latest billing of each (metric, window) of the subscription ending after `ending_after`."""
    rows = await session.scalars(
        select(UsageBilling)
        .where(UsageBilling.subscription_id == subscription_id, UsageBilling.window_end > ending_after)
        .order_by(UsageBilling.metric_code, UsageBilling.window_start, UsageBilling.window_end, UsageBilling.id.desc())
        .distinct(UsageBilling.metric_code, UsageBilling.window_start, UsageBilling.window_end)
    )
    return list(rows)


async def metric_names(session: AsyncSession, codes: list[str]) -> dict[str, UsageMetric]:
    if not codes:
        return {}
    rows = await session.scalars(select(UsageMetric).where(UsageMetric.code.in_(codes)))
    return {m.code: m for m in rows}


async def upsert_metric(session: AsyncSession, *, code: str, name: str, aggregation: str, prop: str | None) -> None:
    values = dict(code=code, name=name, aggregation=aggregation, property=prop)
    statement = insert(UsageMetric).values(**values)
    await session.execute(statement.on_conflict_do_update(index_elements=[UsageMetric.code], set_=values))
