"""All of health-score-svc's queries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_health.models import (
    BillingFact,
    HealthCustomer,
    HealthModelRow,
    HealthScore,
    UsageFact,
)
from tenure_health.scoring import Survey, Ticket
from tenure_shared.pagination import Page, paginate


async def get_model_json(session: AsyncSession, *, for_update: bool = False) -> dict[str, Any] | None:
    row = await session.get(HealthModelRow, 1, with_for_update=for_update)
    return row.model if row else None


async def put_model_json(session: AsyncSession, model: dict[str, Any]) -> None:
    statement = insert(HealthModelRow).values(id=1, model=model)
    await session.execute(statement.on_conflict_do_update(index_elements=[HealthModelRow.id], set_={"model": model}))


async def get_customer(session: AsyncSession, customer_id: str, *, for_update: bool = False) -> HealthCustomer | None:
    return await session.get(HealthCustomer, customer_id, with_for_update=for_update)


async def locked_customer(session: AsyncSession, customer_id: str) -> HealthCustomer:
    """The customer's row, locked, when it must exist (NoResultFound otherwise)."""
    return await session.get_one(HealthCustomer, customer_id, with_for_update=True)


def _on_clock(clock_id: str | None) -> ColumnElement[bool]:
    return HealthCustomer.clock_id.is_(None) if clock_id is None else HealthCustomer.clock_id == clock_id


async def customer_ids_on_clock(
    session: AsyncSession, clock_id: str | None, *, after: str | None = None, through: str | None = None
) -> list[str]:
    """The clock's customer ids in order, those in (after, through] when given."""
    statement = select(HealthCustomer.id).where(_on_clock(clock_id)).order_by(HealthCustomer.id)
    if after is not None:
        statement = statement.where(HealthCustomer.id > after)
    if through is not None:
        statement = statement.where(HealthCustomer.id <= through)
    return list((await session.scalars(statement)).all())


async def slice_ends(session: AsyncSession, clock_id: str | None, size: int) -> list[str]:
    """The id ending each full run of `size` consecutive customers of the clock, in id order."""
    numbered = select(HealthCustomer.id, func.row_number().over(order_by=HealthCustomer.id).label("n")).where(_on_clock(clock_id))
    ranked = numbered.subquery()
    return list((await session.scalars(select(ranked.c.id).where(ranked.c.n % size == 0).order_by(ranked.c.id))).all())


# What a recompute needs of each customer, in one statement returning one row per customer: its row,
# then each kind of fact folded per customer (arrays of rows, sums, first and last moments), one
# pass over each fact table for the whole chunk. It replaced a query per kind of fact (16 round
# trips per chunk turning ~15 rows per customer into Python objects); per-customer correlated
# subqueries cost the server 1.5x the set-based passes (docs/benchmarks/profile-2026-12-07-health-recompute.md).
_RECOMPUTE_INPUTS = """
    WITH subscriptions AS (
        SELECT s.customer_id,
            array_agg(
                ROW(s.status, s.quantity, s.included_units, s.cancellation_scheduled, s.on_free_plan,
                    s.current_period_start, s.current_period_end)
                ORDER BY s.id
            ) AS subscriptions
        FROM health_subscriptions AS s
        WHERE s.customer_id = ANY(CAST(:ids AS text[]))
        GROUP BY s.customer_id
    ), billing AS (
        SELECT f.customer_id,
            array_agg(f.at ORDER BY f.at) FILTER (WHERE f.kind = 'payment_failed') AS failed_payments,
            array_agg(f.at ORDER BY f.at) FILTER (WHERE f.kind = 'downgrade') AS downgrades,
            array_agg(f.at ORDER BY f.at) FILTER (WHERE f.kind = 'pause') AS pauses,
            array_agg(f.at ORDER BY f.at) FILTER (WHERE f.kind = 'free_plan_move') AS free_plan_moves,
            max(f.at) FILTER (WHERE f.kind = 'seats_grew') AS seats_grew_at,
            max(f.at) FILTER (WHERE f.kind = 'upgrade') AS upgraded_at
        FROM health_billing_facts AS f
        WHERE f.customer_id = ANY(CAST(:ids AS text[])) AND f.at >= :billing_since AND f.at <= :at
        GROUP BY f.customer_id
    ), invoices AS (
        SELECT i.customer_id,
            min(i.first_failed_at) FILTER (WHERE i.status = 'open' AND i.amount_due > 0) AS past_due_since
        FROM health_invoices AS i
        WHERE i.customer_id = ANY(CAST(:ids AS text[]))
        GROUP BY i.customer_id
    ), dunning AS (
        SELECT d.customer_id, array_agg(d.started_at ORDER BY d.started_at) AS open_dunning_since
        FROM health_dunning_cases AS d
        WHERE d.customer_id = ANY(CAST(:ids AS text[])) AND d.status = 'retrying'
        GROUP BY d.customer_id
    ), usage AS (
        SELECT u.customer_id, min(u.at) AS first_usage_at,
            sum(u.units) FILTER (WHERE u.at > :usage_recent_since AND u.at <= :at) AS usage_recent,
            sum(u.units) FILTER (WHERE u.at > :usage_earlier_since AND u.at <= :usage_recent_since) AS usage_earlier
        FROM health_usage AS u
        WHERE u.customer_id = ANY(CAST(:ids AS text[]))
        GROUP BY u.customer_id
    ), activity AS (
        SELECT a.customer_id,
            array_agg(DISTINCT date(timezone('UTC', a.at))) FILTER (WHERE a.at > :engagement_since AND a.at <= :at)
                AS activity_days,
            max(a.at) FILTER (WHERE a.at <= :at) AS last_activity_at,
            min(a.at) FILTER (
                WHERE a.at <= :at AND (CAST(:activation_name AS text) IS NULL OR a.name = CAST(:activation_name AS text))
            ) AS first_activity_at,
            -- Distinct users in the window, for the customers whose activity ever names users (else NULL).
            CASE WHEN bool_or(a.user_id IS NOT NULL)
                THEN count(DISTINCT a.user_id) FILTER (WHERE a.at > :adoption_since AND a.at <= :at)
            END AS active_users
        FROM health_activity AS a
        WHERE a.customer_id = ANY(CAST(:ids AS text[]))
        GROUP BY a.customer_id
    ), tickets AS (
        SELECT t.customer_id,
            array_agg(ROW(t.opened_at, t.severity, CASE WHEN t.status = 'closed' THEN t.closed_at END) ORDER BY t.opened_at, t.id)
                AS tickets
        FROM health_tickets AS t
        WHERE t.customer_id = ANY(CAST(:ids AS text[])) AND (t.opened_at >= :tickets_since OR t.status = 'open')
        GROUP BY t.customer_id
    ), surveys AS (
        SELECT v.customer_id, array_agg(ROW(v.kind, v.score, v.answered_at) ORDER BY v.answered_at, v.id) AS surveys
        FROM health_surveys AS v
        WHERE v.customer_id = ANY(CAST(:ids AS text[])) AND v.answered_at >= :surveys_since
        GROUP BY v.customer_id
    ), scores AS (
        -- The window compared as an expression (`computed_at + 0`), so the planner goes through the
        -- customer index: yesterday's history rows lie past the statistics' last bucket, the planner
        -- takes the window for a few rows and, on the computed_at index, read every row of the window
        -- for each chunk (43 of 89 s at 30,000 customers).
        SELECT h.customer_id, max(h.score) AS recent_best_score
        FROM health_scores AS h
        WHERE h.customer_id = ANY(CAST(:ids AS text[]))
            AND h.computed_at + interval '0' >= :scores_since AND h.computed_at + interval '0' <= :at
        GROUP BY h.customer_id
    )
    SELECT c.id, c.clock_id, c.started_at, c.first_value_at, c.status, c.stage, c.risk_episode_open,
        coalesce(subscriptions.subscriptions, '{}') AS subscriptions,
        billing.failed_payments, billing.downgrades, billing.pauses, billing.free_plan_moves,
        billing.seats_grew_at, billing.upgraded_at,
        invoices.customer_id IS NOT NULL AS invoiced, invoices.past_due_since,
        coalesce(dunning.open_dunning_since, '{}') AS open_dunning_since,
        usage.first_usage_at, usage.usage_recent, usage.usage_earlier,
        activity.activity_days, activity.last_activity_at, activity.first_activity_at, activity.active_users,
        coalesce(tickets.tickets, '{}') AS tickets,
        coalesce(surveys.surveys, '{}') AS surveys,
        scores.recent_best_score
    FROM health_customers AS c
    LEFT JOIN subscriptions ON subscriptions.customer_id = c.id
    LEFT JOIN billing ON billing.customer_id = c.id
    LEFT JOIN invoices ON invoices.customer_id = c.id
    LEFT JOIN dunning ON dunning.customer_id = c.id
    LEFT JOIN usage ON usage.customer_id = c.id
    LEFT JOIN activity ON activity.customer_id = c.id
    LEFT JOIN tickets ON tickets.customer_id = c.id
    LEFT JOIN surveys ON surveys.customer_id = c.id
    LEFT JOIN scores ON scores.customer_id = c.id
    WHERE c.id = ANY(CAST(:ids AS text[]))
    ORDER BY c.id
"""
_RECOMPUTE_INPUTS_LOCKED = text(_RECOMPUTE_INPUTS + "FOR UPDATE OF c")
_RECOMPUTE_INPUTS_READ = text(_RECOMPUTE_INPUTS)


class SubscriptionState(NamedTuple):
    status: str
    quantity: int
    included_units: int
    cancellation_scheduled: bool
    on_free_plan: bool
    current_period_start: datetime | None
    current_period_end: datetime | None


class RecomputeInputs(NamedTuple):
    """A row of `_RECOMPUTE_INPUTS`: the customer's health as last computed and its facts. A named
    tuple, not SQLAlchemy's Row: reading its ~30 fields by name costs a fraction of Row's __getattr__.
    Its arrays are tuples, as the scoring's facts hold them (the facts share them, not copy them)."""

    id: str
    clock_id: str | None
    started_at: datetime | None
    first_value_at: datetime | None
    status: str | None
    stage: str | None
    risk_episode_open: bool
    subscriptions: tuple[SubscriptionState, ...]  # in id order
    failed_payments: tuple[datetime, ...]  # in the billing window
    downgrades: tuple[datetime, ...]
    pauses: tuple[datetime, ...]
    free_plan_moves: tuple[datetime, ...]
    seats_grew_at: datetime | None
    upgraded_at: datetime | None
    invoiced: bool
    past_due_since: datetime | None
    open_dunning_since: tuple[datetime, ...]
    first_usage_at: datetime | None  # None: no usage ever
    usage_recent: Decimal | None
    usage_earlier: Decimal | None
    activity_days: tuple[date, ...]
    last_activity_at: datetime | None
    first_activity_at: datetime | None
    active_users: int | None
    tickets: tuple[Ticket, ...]
    surveys: tuple[Survey, ...]  # oldest first
    recent_best_score: int | None


# The columns converted from the driver's values: arrays (NULL when empty) to tuples, arrays of rows
# to tuples of named tuples.
_ARRAYS = tuple(
    RecomputeInputs._fields.index(name)
    for name in ("failed_payments", "downgrades", "pauses", "free_plan_moves", "open_dunning_since", "activity_days")
)
_ROW_ARRAYS = tuple(
    (RecomputeInputs._fields.index(name), kind._make)
    for name, kind in (("subscriptions", SubscriptionState), ("tickets", Ticket), ("surveys", Survey))
)


async def recompute_inputs(
    session: AsyncSession,
    ids: list[str],
    *,
    at: datetime,
    billing_since: datetime,
    usage_recent_since: datetime,
    usage_earlier_since: datetime,
    engagement_since: datetime,
    adoption_since: datetime,
    activation_name: str | None,
    tickets_since: datetime,
    surveys_since: datetime,
    scores_since: datetime,
    for_update: bool,
) -> list[RecomputeInputs]:
    """Each customer's row with its facts at `at`, in id order; `for_update` locks the customers (a
    recompute reads and writes them) in that order."""
    statement = _RECOMPUTE_INPUTS_LOCKED if for_update else _RECOMPUTE_INPUTS_READ
    params = {
        "ids": ids,
        "at": at,
        "billing_since": billing_since,
        "usage_recent_since": usage_recent_since,
        "usage_earlier_since": usage_earlier_since,
        "engagement_since": engagement_since,
        "adoption_since": adoption_since,
        "activation_name": activation_name,
        "tickets_since": tickets_since,
        "surveys_since": surveys_since,
        "scores_since": scores_since,
    }
    result = await session.execute(statement, params)
    if tuple(result.keys()) != RecomputeInputs._fields:
        raise RuntimeError(f"_RECOMPUTE_INPUTS's columns {tuple(result.keys())} do not match RecomputeInputs")
    found = []
    for row in result:
        values = list(row)
        for column in _ARRAYS:
            values[column] = tuple(values[column] or ())
        for column, make in _ROW_ARRAYS:
            values[column] = tuple(map(make, values[column]))
        found.append(RecomputeInputs._make(values))
    return found


async def usage_crossing(session: AsyncSession, customer_id: str, units: int, until: datetime) -> datetime | None:
    """When the customer's cumulative usage first reached `units`."""
    running = select(UsageFact.at, func.sum(UsageFact.units).over(order_by=(UsageFact.at, UsageFact.id)).label("total")).where(
        UsageFact.customer_id == customer_id, UsageFact.at <= until
    )
    sub = running.subquery()
    return await session.scalar(select(func.min(sub.c.at)).where(sub.c.total >= units))


# The recompute's writes, one statement per chunk: each customer's new health and its history row,
# the columns as arrays (executemany would run one UPDATE per customer).
_SET_HEALTH = text(
    """
    WITH new AS (
        SELECT u.id, u.history_id, u.first_value_at, u.score, u.status, u.stage, u.profile,
            CAST(u.factors AS jsonb) AS factors, u.risk_episode_open
        FROM unnest(
            CAST(:id AS text[]), CAST(:history_id AS text[]), CAST(:first_value_at AS timestamptz[]),
            CAST(:score AS int[]), CAST(:status AS text[]), CAST(:stage AS text[]), CAST(:profile AS text[]),
            CAST(:factors AS text[]), CAST(:risk_episode_open AS boolean[])
        ) AS u(id, history_id, first_value_at, score, status, stage, profile, factors, risk_episode_open)
    ), updated AS (
        UPDATE health_customers AS c
        SET first_value_at = new.first_value_at, score = new.score, status = new.status, stage = new.stage,
            profile = new.profile, factors = new.factors, computed_at = :computed_at,
            risk_episode_open = new.risk_episode_open
        FROM new WHERE c.id = new.id
    )
    INSERT INTO health_scores (id, customer_id, score, status, stage, computed_at, factors)
    SELECT new.history_id, new.id, new.score, new.status, new.stage, :computed_at, new.factors FROM new
    """
)


class NewHealth(NamedTuple):
    """A customer's recomputed health: its row's new values and its history row's id (`factors` as JSON text)."""

    id: str
    history_id: str
    first_value_at: datetime | None
    score: int
    status: str
    stage: str
    profile: str
    factors: str
    risk_episode_open: bool


async def set_health(session: AsyncSession, rows: list[NewHealth], computed_at: datetime) -> None:
    """Each customer's new health and its history row."""
    columns = {name: list(values) for name, values in zip(NewHealth._fields, zip(*rows, strict=True), strict=True)}
    await session.execute(_SET_HEALTH, {**columns, "computed_at": computed_at})


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
    statement = select(HealthCustomer).where(_on_clock(clock_id), HealthCustomer.score.is_not(None))
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
    by_status = await session.execute(select(scored.c.status, func.count()).group_by(scored.c.status))
    by_stage = await session.execute(select(scored.c.stage, func.count()).group_by(scored.c.stage))
    return dict(by_status.tuples().all()), dict(by_stage.tuples().all())


async def outcomes(
    session: AsyncSession, *, start: datetime, end: datetime, clock_id: str | None
) -> list[tuple[str, datetime, bool]]:
    """Per customer of the clock with a renewal or churn in [start, end): its first churn there if
    it churned, else its first renewal there."""
    statement = (
        select(BillingFact.customer_id, BillingFact.kind, func.min(BillingFact.at))
        .join(HealthCustomer, HealthCustomer.id == BillingFact.customer_id)
        .where(_on_clock(clock_id), BillingFact.kind.in_(("renewed", "churned")), BillingFact.at >= start, BillingFact.at < end)
        .group_by(BillingFact.customer_id, BillingFact.kind)
    )
    found: dict[str, tuple[datetime, bool]] = {}
    for customer_id, kind, at in (await session.execute(statement)).all():
        if kind == "churned" or customer_id not in found:
            found[customer_id] = (at, kind == "churned")
    return [(customer_id, at, churned) for customer_id, (at, churned) in sorted(found.items())]
