"""All of health-score-svc's queries."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, any_, bindparam, func, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_health.models import (
    Activity,
    BillingFact,
    HealthCustomer,
    HealthDunningCase,
    HealthInvoice,
    HealthModelRow,
    HealthScore,
    HealthSubscription,
    Survey,
    Ticket,
    UsageFact,
)
from tenure_shared.pagination import Page, paginate

LIVE_SUBSCRIPTION = HealthSubscription.status.not_in(("cancelled", "expired"))


async def get_model_json(session: AsyncSession, *, for_update: bool = False) -> dict[str, Any] | None:
    row = await session.get(HealthModelRow, 1, with_for_update=for_update)
    return row.model if row else None


async def put_model_json(session: AsyncSession, model: dict[str, Any]) -> None:
    statement = insert(HealthModelRow).values(id=1, model=model)
    await session.execute(statement.on_conflict_do_update(index_elements=[HealthModelRow.id], set_={"model": model}))


async def get_customer(session: AsyncSession, customer_id: str, *, for_update: bool = False) -> HealthCustomer | None:
    return await session.get(HealthCustomer, customer_id, with_for_update=for_update)


async def customer_ids_on_clock(session: AsyncSession, clock_id: str | None) -> list[str]:
    clock = HealthCustomer.clock_id.is_(None) if clock_id is None else HealthCustomer.clock_id == clock_id
    return list((await session.scalars(select(HealthCustomer.id).where(clock).order_by(HealthCustomer.id))).all())


def _among(column: Any, ids: list[str]) -> ColumnElement[bool]:
    """`column = ANY(:ids)`: one array parameter, where IN would bind (and render) one per id of a chunk of thousands."""
    return column == any_(bindparam("ids", ids, type_=ARRAY(String), unique=True))


def _grouped(rows) -> dict[str, list]:
    found: dict[str, list] = {}
    for customer_id, value in rows:
        found.setdefault(customer_id, []).append(value)
    return found


async def customers_for_update(session: AsyncSession, ids: list[str]) -> list[Any]:
    """Plain rows (attribute access like HealthCustomer, no ORM identity map: a recompute of a whole
    clock stays small and fast), locked."""
    statement = select(*HealthCustomer.__table__.columns).where(_among(HealthCustomer.id, ids)).order_by(HealthCustomer.id)
    return list(await session.execute(statement.with_for_update()))


# Each query below answers for many customers at once (the daily recompute goes in chunks), keyed by customer id.


async def subscriptions(session: AsyncSession, ids: list[str]) -> dict[str, list[Any]]:
    statement = select(*HealthSubscription.__table__.columns).where(_among(HealthSubscription.customer_id, ids))
    return _grouped((s.customer_id, s) for s in await session.execute(statement.order_by(HealthSubscription.id)))


async def billing_facts(session: AsyncSession, ids: list[str], since: datetime, until: datetime) -> dict[str, list[Any]]:
    statement = select(BillingFact.customer_id, BillingFact.kind, BillingFact.at).where(
        _among(BillingFact.customer_id, ids), BillingFact.at >= since, BillingFact.at <= until
    )
    return _grouped((f.customer_id, f) for f in await session.execute(statement.order_by(BillingFact.at)))


async def invoiced(session: AsyncSession, ids: list[str]) -> set[str]:
    statement = select(HealthInvoice.customer_id).where(_among(HealthInvoice.customer_id, ids)).distinct()
    return set((await session.scalars(statement)).all())


async def past_due_since(session: AsyncSession, ids: list[str]) -> dict[str, datetime]:
    statement = (
        select(HealthInvoice.customer_id, func.min(HealthInvoice.first_failed_at))
        .where(_among(HealthInvoice.customer_id, ids), HealthInvoice.status == "open", HealthInvoice.amount_due > 0)
        .where(HealthInvoice.first_failed_at.is_not(None))
        .group_by(HealthInvoice.customer_id)
    )
    return dict((await session.execute(statement)).all())


async def open_dunning_since(session: AsyncSession, ids: list[str]) -> dict[str, list[datetime]]:
    statement = select(HealthDunningCase.customer_id, HealthDunningCase.started_at).where(
        _among(HealthDunningCase.customer_id, ids), HealthDunningCase.status == "retrying"
    )
    return _grouped((await session.execute(statement)).all())


async def usage_between(session: AsyncSession, ids: list[str], start: datetime, end: datetime) -> dict[str, Decimal]:
    statement = (
        select(UsageFact.customer_id, func.sum(UsageFact.units))
        .where(_among(UsageFact.customer_id, ids), UsageFact.at > start, UsageFact.at <= end)
        .group_by(UsageFact.customer_id)
    )
    return dict((await session.execute(statement)).all())


async def first_usage_at(session: AsyncSession, ids: list[str]) -> dict[str, datetime]:
    statement = select(UsageFact.customer_id, func.min(UsageFact.at)).where(_among(UsageFact.customer_id, ids))
    return dict((await session.execute(statement.group_by(UsageFact.customer_id))).all())


async def usage_crossing(session: AsyncSession, customer_id: str, units: int, until: datetime) -> datetime | None:
    """When the customer's cumulative usage first reached `units`."""
    running = select(UsageFact.at, func.sum(UsageFact.units).over(order_by=(UsageFact.at, UsageFact.id)).label("total")).where(
        UsageFact.customer_id == customer_id, UsageFact.at <= until
    )
    sub = running.subquery()
    return await session.scalar(select(func.min(sub.c.at)).where(sub.c.total >= units))


async def activity_days(session: AsyncSession, ids: list[str], since: datetime, until: datetime) -> dict[str, list[date]]:
    day = func.date(func.timezone("UTC", Activity.at))
    statement = (
        select(Activity.customer_id, day)
        .where(_among(Activity.customer_id, ids), Activity.at > since, Activity.at <= until)
        .group_by(Activity.customer_id, day)
    )
    return _grouped((await session.execute(statement)).all())


async def last_activity_at(session: AsyncSession, ids: list[str], until: datetime) -> dict[str, datetime]:
    statement = select(Activity.customer_id, func.max(Activity.at)).where(_among(Activity.customer_id, ids), Activity.at <= until)
    return dict((await session.execute(statement.group_by(Activity.customer_id))).all())


async def active_users(session: AsyncSession, ids: list[str], since: datetime, until: datetime) -> dict[str, int]:
    """Distinct users with activity in the window, for the customers whose activity ever names users
    (absent: it never does)."""
    in_window = and_(Activity.at > since, Activity.at <= until)
    statement = (
        select(Activity.customer_id, func.count(func.distinct(Activity.user_id)).filter(in_window))
        .where(_among(Activity.customer_id, ids), Activity.user_id.is_not(None))
        .group_by(Activity.customer_id)
    )
    return dict((await session.execute(statement)).all())


async def first_activity_at(session: AsyncSession, ids: list[str], name: str | None, until: datetime) -> dict[str, datetime]:
    statement = select(Activity.customer_id, func.min(Activity.at)).where(_among(Activity.customer_id, ids), Activity.at <= until)
    if name is not None:
        statement = statement.where(Activity.name == name)
    return dict((await session.execute(statement.group_by(Activity.customer_id))).all())


async def tickets(session: AsyncSession, ids: list[str], since: datetime) -> dict[str, list[Any]]:
    statement = select(*Ticket.__table__.columns).where(
        _among(Ticket.customer_id, ids), or_(Ticket.opened_at >= since, Ticket.status == "open")
    )
    return _grouped((t.customer_id, t) for t in await session.execute(statement))


async def surveys(session: AsyncSession, ids: list[str], since: datetime) -> dict[str, list[Any]]:
    statement = select(*Survey.__table__.columns).where(_among(Survey.customer_id, ids), Survey.answered_at >= since)
    return _grouped((s.customer_id, s) for s in await session.execute(statement.order_by(Survey.answered_at, Survey.id)))


async def scores_between(session: AsyncSession, ids: list[str], start: datetime, end: datetime) -> dict[str, list[int]]:
    """The customers' scores computed in [start, end], by customer id.

    The window is compared as an expression (`computed_at + 0`), so the planner goes through the
    customer index: yesterday's 100,000 history rows lie past the statistics' last bucket, the
    planner takes the window for a few rows and, on the computed_at index, read every row of the
    window for each chunk (43 of 89 s at 30,000 customers). An index on (customer_id, computed_at)
    would serve it better; this needs no migration."""
    computed_at = HealthScore.computed_at + timedelta(0)
    statement = select(HealthScore.customer_id, HealthScore.score).where(
        _among(HealthScore.customer_id, ids), computed_at >= start, computed_at <= end
    )
    return _grouped((await session.execute(statement)).all())


# The recompute's writes: one statement per chunk, its columns as arrays (executemany would run one UPDATE per customer).
_SET_HEALTH = text(
    """
    UPDATE health_customers AS c
    SET first_value_at = u.first_value_at, score = u.score, status = u.status, stage = u.stage, profile = u.profile,
        factors = u.factors::jsonb, computed_at = :computed_at, risk_episode_open = u.risk_episode_open
    FROM unnest(
        CAST(:ids AS text[]), CAST(:first_value_at AS timestamptz[]), CAST(:score AS int[]), CAST(:status AS text[]),
        CAST(:stage AS text[]), CAST(:profile AS text[]), CAST(:factors AS text[]), CAST(:risk_episode_open AS boolean[])
    ) AS u(id, first_value_at, score, status, stage, profile, factors, risk_episode_open)
    WHERE c.id = u.id
    """
)
_ADD_HISTORY = text(
    """
    INSERT INTO health_scores (id, customer_id, score, status, stage, computed_at, factors)
    SELECT u.id, u.customer_id, u.score, u.status, u.stage, :computed_at, u.factors::jsonb
    FROM unnest(
        CAST(:ids AS text[]), CAST(:customer_ids AS text[]), CAST(:score AS int[]), CAST(:status AS text[]),
        CAST(:stage AS text[]), CAST(:factors AS text[])
    ) AS u(id, customer_id, score, status, stage, factors)
    """
)


async def set_health(session: AsyncSession, rows: list[dict[str, Any]], computed_at: datetime) -> None:
    """Each customer's new health (dicts of HealthCustomer's columns, `factors` already JSON text) and its history row."""

    def column(name: str) -> list[Any]:
        return [row[name] for row in rows]

    customer_ids, scores, statuses, stages, factors = (
        column("id"),
        column("score"),
        column("status"),
        column("stage"),
        column("factors"),
    )
    await session.execute(
        _SET_HEALTH,
        {
            "ids": customer_ids,
            "first_value_at": column("first_value_at"),
            "score": scores,
            "status": statuses,
            "stage": stages,
            "profile": column("profile"),
            "factors": factors,
            "risk_episode_open": column("risk_episode_open"),
            "computed_at": computed_at,
        },
    )
    await session.execute(
        _ADD_HISTORY,
        {
            "ids": column("history_id"),
            "customer_ids": customer_ids,
            "score": scores,
            "status": statuses,
            "stage": stages,
            "factors": factors,
            "computed_at": computed_at,
        },
    )


async def score_at(session: AsyncSession, customer_id: str, at: datetime) -> int | None:
    """The latest score computed at or before `at`."""
    statement = (
        select(HealthScore.score)
        .where(HealthScore.customer_id == customer_id, HealthScore.computed_at <= at)
        .order_by(HealthScore.computed_at.desc(), HealthScore.id.desc())
        .limit(1)
    )
    return await session.scalar(statement)


async def existing(session: AsyncSession, model: Any, ids: list[str]) -> dict[str, Any]:
    if not ids:
        return {}
    return {row.id: row for row in (await session.scalars(select(model).where(model.id.in_(ids)))).all()}


async def history(session: AsyncSession, customer_id: str, page: Page) -> tuple[list[HealthScore], bool]:
    statement = select(HealthScore).where(HealthScore.customer_id == customer_id)
    return await paginate(session, statement, HealthScore.id, page)


def _scored_on_clock(clock_id: str | None, status: str | None, stage: str | None) -> Select:
    clock = HealthCustomer.clock_id.is_(None) if clock_id is None else HealthCustomer.clock_id == clock_id
    statement = select(HealthCustomer).where(clock, HealthCustomer.score.is_not(None))
    if status:
        statement = statement.where(HealthCustomer.status == status)
    if stage:
        statement = statement.where(HealthCustomer.stage == stage)
    return statement


async def list_health(
    session: AsyncSession, page: Page, *, clock_id: str | None, status: str | None, stage: str | None, sort: str | None
) -> tuple[list[HealthCustomer], bool]:
    statement = _scored_on_clock(clock_id, status, stage)
    if sort is None:
        return await paginate(session, statement, HealthCustomer.id, page)
    # Keyset on (score, id), ascending or descending; the cursor is the last customer id seen.
    descending = sort == "-score"
    if page.starting_after:
        after = await session.get(HealthCustomer, page.starting_after)
        if after is not None and after.score is not None:
            key, cursor = tuple_(HealthCustomer.score, HealthCustomer.id), tuple_(after.score, after.id)
            statement = statement.where(key < cursor if descending else key > cursor)
    order = (HealthCustomer.score.desc(), HealthCustomer.id.desc()) if descending else (HealthCustomer.score, HealthCustomer.id)
    rows = list((await session.scalars(statement.order_by(*order).limit(page.limit + 1))).all())
    return rows[: page.limit], len(rows) > page.limit


async def summary(session: AsyncSession, clock_id: str | None) -> tuple[dict[str, int], dict[str, int]]:
    scored = _scored_on_clock(clock_id, None, None).subquery()
    by_status = dict((await session.execute(select(scored.c.status, func.count()).group_by(scored.c.status))).all())
    by_stage = dict((await session.execute(select(scored.c.stage, func.count()).group_by(scored.c.stage))).all())
    return by_status, by_stage


async def outcomes(
    session: AsyncSession, *, start: datetime, end: datetime, clock_id: str | None
) -> list[tuple[str, datetime, bool]]:
    """Per customer of the clock with a renewal or churn in [start, end): its first churn there if
    it churned, else its first renewal there."""
    clock = HealthCustomer.clock_id.is_(None) if clock_id is None else HealthCustomer.clock_id == clock_id
    statement = (
        select(BillingFact.customer_id, BillingFact.kind, func.min(BillingFact.at))
        .join(HealthCustomer, HealthCustomer.id == BillingFact.customer_id)
        .where(clock, BillingFact.kind.in_(("renewed", "churned")), BillingFact.at >= start, BillingFact.at < end)
        .group_by(BillingFact.customer_id, BillingFact.kind)
    )
    found: dict[str, tuple[datetime, bool]] = {}
    for customer_id, kind, at in (await session.execute(statement)).all():
        if kind == "churned" or customer_id not in found:
            found[customer_id] = (at, kind == "churned")
    return [(customer_id, at, churned) for customer_id, (at, churned) in sorted(found.items())]
