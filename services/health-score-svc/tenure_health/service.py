"""health-score-svc's use cases: keep each customer's facts, recompute its health, warn early."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_health import repository, scoring
from tenure_health.backtest import Outcome, summarise
from tenure_health.config import SERVICE, get_settings
from tenure_health.errors import InvalidHealthModel
from tenure_health.models import (
    BillingFact,
    HealthCustomer,
    HealthDunningCase,
    HealthInvoice,
    HealthSubscription,
    UsageFact,
)
from tenure_shared.customer_copies import fetch_customer, upsert_customer_copy
from tenure_shared.deferred import defer
from tenure_shared.due_work import pending_job, schedule_job
from tenure_shared.events import (
    HEALTH,
    CustomerData,
    CustomerHealthData,
    DunningData,
    HealthFactorData,
    InvoiceData,
    PaymentData,
    SubscriptionData,
    UsageRecordedData,
)
from tenure_shared.ids import new_ids
from tenure_shared.internal_http import internal_client
from tenure_shared.outbox import add_event

RECOMPUTE = "health.recompute"
DAILY = "health.daily"
DAILY_SLICE = "health.daily-slice"
YEARLY_TERM = timedelta(days=360)


# ---- the model ----------------------------------------------------------------------------------


async def get_model(session: AsyncSession) -> scoring.HealthModel:
    stored = await repository.get_model_json(session)
    return scoring.HealthModel.model_validate(stored) if stored else scoring.HealthModel()


def validate_model(body: dict[str, Any]) -> scoring.HealthModel:
    try:
        return scoring.HealthModel.model_validate(body)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        raise InvalidHealthModel("The health model is not valid.", errors=errors) from None


async def put_model(session: AsyncSession, *, body: dict[str, Any]) -> scoring.HealthModel:
    """Replace the model in force; scores follow at each customer's next recompute."""
    model = validate_model(body)
    await repository.put_model_json(session, model.model_dump(mode="json"))
    return model


# ---- customers ------------------------------------------------------------------------------------


async def customer_for(session: AsyncSession, customer_id: str, *, clock_id: str | None, at: datetime) -> HealthCustomer:
    """The customer's row, locked (a recompute reads and writes it), created on first sight."""
    customer = await repository.get_customer(session, customer_id, for_update=True)
    if customer is None:
        # version -1: the customer.created copy, whatever its version, replaces this placeholder.
        customer = HealthCustomer(id=customer_id, clock_id=clock_id, started_at=at, version=-1)
        session.add(customer)
        await session.flush()
        if clock_id is None:
            await ensure_daily(session, clock_id=None, at=at)
    elif customer.started_at is None or at < customer.started_at:
        customer.started_at = at
    return customer


async def known_customer(session: AsyncSession, customer_id: str) -> HealthCustomer:
    """For REST signals: the customer, asked of subscription-svc when its events have not arrived yet."""
    customer = await repository.get_customer(session, customer_id, for_update=True)
    if customer is not None:
        return customer
    found = await fetch_customer(internal_client(get_settings()), customer_id)
    await customer_changed(session, customer=found, at=None)
    return await repository.locked_customer(session, customer_id)


async def customer_changed(session: AsyncSession, *, customer: CustomerData, at: datetime | None) -> None:
    await upsert_customer_copy(session, HealthCustomer, customer)
    row = await repository.locked_customer(session, customer.id)
    if row.started_at is None:
        row.started_at = at
        if row.clock_id is None:
            await ensure_daily(session, clock_id=None, at=at)


async def ensure_daily(session: AsyncSession, *, clock_id: str | None, at: datetime | None) -> None:
    """One daily recompute per clock (and one for real time), not one per customer: a test clock
    then steps once a day for all its customers. A test clock gets it only once one of its customers
    sends time-sensitive signals (activity, tickets, surveys, usage): a year-long advance of a
    billing-only clock would otherwise step 365 times for scores that change only with its billing
    events, which recompute them anyway."""
    key = daily_key(clock_id)
    if at is not None and await pending_job(session, key=key) is None:
        await schedule_job(session, kind=DAILY, key=key, due_at=_next_midnight(at), clock_id=clock_id, payload={})


def daily_key(clock_id: str | None) -> str:
    return f"health-daily:{clock_id or 'real-time'}"


def _next_midnight(at: datetime) -> datetime:
    return datetime.combine(at.astimezone(UTC).date() + timedelta(days=1), time(), tzinfo=UTC)


# ---- facts from the bus -------------------------------------------------------------------------------


async def subscription_changed(
    session: AsyncSession, *, verb: str, data: SubscriptionData, clock_id: str | None, at: datetime
) -> None:
    customer = await customer_for(session, data.customer_id, clock_id=clock_id, at=at)
    row = await session.get(HealthSubscription, data.id, with_for_update=True)
    if row is None:
        row = HealthSubscription(id=data.id, customer_id=data.customer_id)
        session.add(row)
    elif verb == "changed":
        before, after = row.plan_amount * row.quantity, data.plan_amount * data.quantity
        if after < before:
            _fact(session, customer.id, "downgrade", at, data.id)
        elif after > before:
            _fact(session, customer.id, "upgrade", at, data.id)
        if data.quantity > row.quantity:
            _fact(session, customer.id, "seats_grew", at, data.id)
    if verb == "renewed":
        _fact(session, customer.id, "renewed", at, data.id)
    elif verb in ("cancelled", "expired"):
        _fact(session, customer.id, "churned", at, data.id)
    if verb == "paused":
        _fact(session, customer.id, "pause", at, data.id)
    elif verb == "moved_to_free_plan":
        _fact(session, customer.id, "free_plan_move", at, data.id)
    if verb == "cancellation_scheduled":
        row.cancellation_scheduled = True
    elif verb in ("reactivated", "cancelled", "expired"):
        row.cancellation_scheduled = False
    row.status, row.plan_code, row.plan_amount, row.quantity = data.status, data.plan_code, data.plan_amount, data.quantity
    row.current_period_start, row.current_period_end = data.current_period_start, data.current_period_end
    row.on_free_plan = data.on_free_plan
    row.included_units = sum(charge.included_units for charge in data.metered_charges)
    await session.flush()
    await request_recompute(session, customer, at=at)


def _fact(session: AsyncSession, customer_id: str, kind: str, at: datetime, reference: str | None) -> None:
    session.add(BillingFact(customer_id=customer_id, kind=kind, at=at, reference=reference))


async def invoice_changed(session: AsyncSession, *, data: InvoiceData, clock_id: str | None, at: datetime) -> None:
    customer = await customer_for(session, data.customer_id, clock_id=clock_id, at=at)
    row = await session.get(HealthInvoice, data.id, with_for_update=True)
    if row is None:
        row = HealthInvoice(id=data.id, customer_id=data.customer_id)
        session.add(row)
    row.status, row.amount_due = data.status, data.amount_due
    await session.flush()
    await request_recompute(session, customer, at=at)


async def payment_made(session: AsyncSession, *, data: PaymentData, clock_id: str | None, at: datetime) -> None:
    customer = await customer_for(session, data.customer_id, clock_id=clock_id, at=at)
    if data.status == "failed":
        _fact(session, customer.id, "payment_failed", data.attempted_at, data.id)
        invoice = await session.get(HealthInvoice, data.invoice_id, with_for_update=True)
        if invoice is None:  # the invoice's own event is on another topic and may come later
            invoice = HealthInvoice(id=data.invoice_id, customer_id=data.customer_id, status="open", amount_due=data.amount)
            session.add(invoice)
        if invoice.first_failed_at is None:
            invoice.first_failed_at = data.attempted_at
        await session.flush()
    await request_recompute(session, customer, at=at)


async def dunning_changed(session: AsyncSession, *, data: DunningData, clock_id: str | None, at: datetime) -> None:
    customer = await customer_for(session, data.customer_id, clock_id=clock_id, at=at)
    row = await session.get(HealthDunningCase, data.id, with_for_update=True)
    if row is None:
        row = HealthDunningCase(id=data.id, customer_id=data.customer_id, started_at=at)
        session.add(row)
    row.status = data.status
    await session.flush()
    await request_recompute(session, customer, at=at)


async def usage_recorded(session: AsyncSession, *, data: UsageRecordedData, clock_id: str | None, at: datetime) -> None:
    customer = await customer_for(session, data.customer_id, clock_id=clock_id, at=at)
    # Units: the events' values where they carry one, else the number of events.
    units = sum((Decimal(m.value_total) or Decimal(m.events) for m in data.metrics), Decimal(0))
    session.add(UsageFact(customer_id=customer.id, at=data.last_timestamp, units=units))
    await session.flush()
    await ensure_daily(session, clock_id=clock_id, at=at)
    await request_recompute(session, customer, at=at)


# ---- recompute -----------------------------------------------------------------------------------------


async def request_recompute(session: AsyncSession, customer: HealthCustomer, *, at: datetime) -> None:
    """Real time: debounce, one pending recompute per customer (a burst of signals costs one).
    A test clock's time stands still between steps, so its customers are recomputed before the
    transaction commits, once per customer however many of its events the transaction handles:
    the clock's coordinator does not run jobs queued while its last step settles."""
    if customer.clock_id is None:
        await schedule_job(
            session, kind=RECOMPUTE, key=f"health:{customer.id}", due_at=at, clock_id=None, payload={"customer_id": customer.id}
        )
    else:
        defer(session, _recompute_requested, (customer.id, at))


async def _recompute_requested(session: AsyncSession, requests: list[tuple[str, datetime]]) -> None:
    """Each customer asked for once, at the latest time asked; customers at one time together."""
    latest: dict[str, datetime] = {}
    for customer_id, at in requests:
        latest[customer_id] = max(at, latest.get(customer_id, at))
    by_time: dict[datetime, list[str]] = {}
    for customer_id, at in latest.items():
        by_time.setdefault(at, []).append(customer_id)
    for at, customer_ids in sorted(by_time.items()):
        await recompute_many(session, customer_ids=customer_ids, at=at)


async def load_facts(
    session: AsyncSession, customer_ids: list[str], model: scoring.HealthModel, at: datetime, *, for_update: bool = False
) -> list[tuple[repository.RecomputeInputs, scoring.Facts, scoring.StageFacts]]:
    """Each customer's row (its health as last computed) and its facts at `at`, for the score and
    for the stage, in id order; `for_update` locks the rows (a recompute reads and writes them)."""
    rows = await _read_inputs(session, customer_ids, model, at, for_update=for_update)
    crossed = await _usage_crossings(session, rows, model, at)
    return [(row, *facts_of(row, model, at, usage_crossed_at=crossed.get(row.id))) for row in rows]


async def _read_inputs(
    session: AsyncSession, customer_ids: list[str], model: scoring.HealthModel, at: datetime, *, for_update: bool
) -> list[repository.RecomputeInputs]:
    window = timedelta(days=model.adoption.window_days)
    return await repository.recompute_inputs(
        session,
        customer_ids,
        at=at,
        billing_since=at - timedelta(days=max(model.payment.window_days, model.billing_friction.window_days)),
        usage_recent_since=at - window,
        usage_earlier_since=at - 3 * window,
        engagement_since=at - timedelta(days=model.engagement.window_days),
        adoption_since=at - window,
        activation_name=model.activation.activity_name,
        tickets_since=at - timedelta(days=model.support.baseline_days),
        surveys_since=at - timedelta(days=model.sentiment.window_days),
        scores_since=at - timedelta(days=model.risk_drop_days),
        for_update=for_update,
    )


async def _usage_crossings(
    session: AsyncSession, rows: list[repository.RecomputeInputs], model: scoring.HealthModel, at: datetime
) -> dict[str, datetime | None]:
    """When each customer's usage reached the model's activation units, for the customers with usage
    (none asked when the model activates by activity only)."""
    units = model.activation.usage_units
    if not units:
        return {}
    return {row.id: await repository.usage_crossing(session, row.id, units, at) for row in rows if row.first_usage_at is not None}


def facts_of(
    row: repository.RecomputeInputs, model: scoring.HealthModel, at: datetime, *, usage_crossed_at: datetime | None
) -> tuple[scoring.Facts, scoring.StageFacts]:
    """A customer's facts for the score and for the stage, from its `repository.recompute_inputs` row."""
    # The live subscriptions' units, seats and scheduled cancellations, and the earliest renewal
    # (on a tie, the first subscription in id order), in one pass.
    live_subscriptions = included = seats = 0
    cancellation_scheduled = False
    renews_at = term_start = None
    for s in row.subscriptions:
        if s.status == "cancelled" or s.status == "expired":
            continue
        live_subscriptions += 1
        included += s.included_units
        seats += s.quantity
        if s.cancellation_scheduled:
            cancellation_scheduled = True
        elif s.status == "active" and s.current_period_end and not s.on_free_plan:
            if renews_at is None or s.current_period_end < renews_at:
                renews_at, term_start = s.current_period_end, s.current_period_start
    recent = float(row.usage_recent or 0)
    first_usage_at = row.first_usage_at  # None: no usage ever
    baseline = None
    if first_usage_at is not None and first_usage_at <= at - timedelta(days=model.adoption.window_days) and row.usage_earlier:
        baseline = float(row.usage_earlier) / 2
    facts = scoring.Facts(
        now=at,
        has_billing=row.invoiced or bool(row.failed_payments),
        failed_payments=row.failed_payments,
        open_dunning_since=row.open_dunning_since,
        past_due_since=row.past_due_since,
        usage_recent=None if first_usage_at is None else recent,
        usage_baseline=baseline,
        included_units=included or None,
        active_users=row.active_users,
        seats=seats or None,
        activity_days=row.activity_days,
        last_activity_at=row.last_activity_at,
        tickets=row.tickets,
        surveys=row.surveys,
        has_subscription=bool(row.subscriptions),
        downgrades=row.downgrades,
        pauses=row.pauses,
        free_plan_moves=row.free_plan_moves,
        cancellation_scheduled=cancellation_scheduled,
    )
    first_value = [v for v in (row.first_value_at, row.first_activity_at, usage_crossed_at) if v is not None]
    stage_facts = scoring.StageFacts(
        now=at,
        churned=bool(row.subscriptions) and not live_subscriptions,
        first_value_at=min(first_value, default=None),
        renews_at=renews_at,
        yearly_term=renews_at is not None and term_start is not None and renews_at - term_start >= YEARLY_TERM,
        usage_recent=recent,
        included_units=included or None,
        seats_grew_at=row.seats_grew_at,
        upgraded_at=row.upgraded_at,
    )
    return facts, stage_facts


async def recompute(session: AsyncSession, *, customer_id: str, at: datetime) -> None:
    """Compute the customer's health at `at`, keep it in the history and announce what changed."""
    await recompute_many(session, customer_ids=[customer_id], at=at)


async def recompute_many(session: AsyncSession, *, customer_ids: list[str], at: datetime) -> None:
    """One query for all of their facts, the scores in pure code, then one statement updating the
    customers and adding their history rows (no ORM object per row: a daily recompute of a whole
    clock stays fast and small)."""
    model = await get_model(session)
    loaded = await load_facts(session, customer_ids, model, at, for_update=True)
    ids = new_ids("hsc", len(loaded))
    scored = [_rescore(row, model, facts, stage_facts, at, ids[n]) for n, (row, facts, stage_facts) in enumerate(loaded)]
    if scored:
        await repository.set_health(session, [new for new, _, _ in scored], at)
        await _announce(session, scored, at)
        _expire_held(session, set(customer_ids))


async def start_daily(session: AsyncSession, *, clock_id: str | None, at: datetime) -> None:
    """The daily recompute of every customer on a clock (or on real time), split into slices of
    DAILY_SLICE_CUSTOMERS consecutive customer ids, one due job each, so that every worker of the
    service takes a share (each slice in a transaction of its own); schedules the next day."""
    ends = await repository.slice_ends(session, clock_id, DAILY_SLICE_CUSTOMERS)
    # (after, through]: the last slice is open-ended, so a customer added meanwhile is not missed.
    slices = list(zip([None, *ends], [*ends, None], strict=True))
    for n, (after, through) in enumerate(slices):
        await schedule_job(
            session,
            kind=DAILY_SLICE,
            key=f"{daily_key(clock_id)}:{at.isoformat()}:{n}",
            due_at=at,
            clock_id=clock_id,
            payload={"after": after, "through": through},
        )
    await schedule_job(session, kind=DAILY, key=daily_key(clock_id), due_at=_next_midnight(at), clock_id=clock_id, payload={})


async def recompute_slice(
    session: AsyncSession, *, clock_id: str | None, at: datetime, after: str | None, through: str | None
) -> None:
    """The daily recompute of the clock's customers with ids in (after, through], in chunks."""
    ids = await repository.customer_ids_on_clock(session, clock_id, after=after, through=through)
    for offset in range(0, len(ids), RECOMPUTE_CHUNK):
        await recompute_many(session, customer_ids=ids[offset : offset + RECOMPUTE_CHUNK], at=at)


# A customer's new health, the events its changes call for (verb, payload) and its clock.
Scored = tuple[repository.NewHealth, list[tuple[str, CustomerHealthData]], str | None]


def _rescore(
    customer: repository.RecomputeInputs,
    model: scoring.HealthModel,
    facts: scoring.Facts,
    stage_facts: scoring.StageFacts,
    at: datetime,
    history_id: str,
) -> Scored:
    """One customer's new health, and the events its changes call for (pure: no statement)."""
    health = scoring.compute_health(facts, model, started_at=customer.started_at)
    stage = scoring.lifecycle_stage(stage_facts, model)
    best = customer.recent_best_score
    drop = scoring.score_drop(health.score, [] if best is None else [best])
    factors = _factors_json(health.factors)
    previous_status, previous_stage = customer.status, customer.stage
    risk_episode_open = customer.risk_episode_open
    events: list[tuple[str, CustomerHealthData]] = []

    def announce(verb: str, reasons: list[str]) -> None:
        data = CustomerHealthData(
            customer_id=customer.id,
            score=health.score,
            status=health.status,
            previous_status=previous_status,
            lifecycle_stage=stage,
            previous_stage=previous_stage,
            reasons=reasons,
            score_drop=drop,
            factors=[HealthFactorData(name=f["name"], score=f["score"], detail=f["detail"]) for f in factors],
            computed_at=at,
        )
        events.append((verb, data))

    if previous_status is not None and health.status != previous_status:
        announce("health_changed", health.reasons(model.bands.healthy_min))
    if scoring.risk_raised(status=health.status, drop=drop, model=model):
        if not customer.risk_episode_open and previous_status is not None:
            risk_episode_open = True
            drop_reason = (
                [f"the score fell {drop} points within {model.risk_drop_days} days"] if drop >= model.risk_drop_points else []
            )
            announce("churn_risk_raised", drop_reason + health.reasons(model.bands.healthy_min))
    else:
        risk_episode_open = False
    if previous_stage is not None and stage != previous_stage:
        announce("stage_changed", [f"lifecycle stage {previous_stage} -> {stage}"])
        if stage == "expansion":
            announce("expansion_signal", scoring.expansion_reasons(stage_facts, model))
    new = repository.NewHealth(
        id=customer.id,
        history_id=history_id,
        first_value_at=stage_facts.first_value_at,
        score=health.score,
        status=health.status,
        stage=stage,
        profile=health.profile,
        factors=orjson.dumps(factors).decode(),
        risk_episode_open=risk_episode_open,
    )
    return new, events, customer.clock_id


async def _announce(session: AsyncSession, scored: list[Scored], at: datetime) -> None:
    """The events of the customers just written, in their order (their outbox rows go in with the
    next flush, in one batch, not one INSERT per event)."""
    with session.no_autoflush:
        for new, events, clock_id in scored:
            for verb, data in events:
                await add_event(
                    session,
                    source=SERVICE,
                    topic=HEALTH,
                    event_type=f"customer.{verb}",
                    customer_id=new.id,
                    data=data,
                    business_time=at,
                    clock_id=clock_id,
                )


def _expire_held(session: AsyncSession, customer_ids: set[str]) -> None:
    """A handler may hold one of these customers as an ORM object: it must see the new health, not its stale copy."""
    for held in [o for o in session.identity_map.values() if isinstance(o, HealthCustomer) and o.id in customer_ids]:
        session.expire(held)


def _factors_json(lines: list[scoring.FactorLine]) -> list[dict[str, Any]]:
    """The factors as the API shows them: score rounded to a point, weight to 4 places, contribution to 2."""
    return [
        {
            "name": line.name,
            "score": _whole_points(line.score),
            "weight": _four_places(line.weight),
            "contribution": scoring.half_up(line.contribution * 100) / 100,
            "detail": line.detail,
        }
        for line in lines
    ]


def _whole_points(score: float | None) -> int | None:
    """A factor's score rounded half-up to a point; most factors' arithmetic is whole already."""
    if score is None or type(score) is int:
        return score
    return scoring.half_up(score)


@lru_cache(maxsize=1024)
def _four_places(weight: float) -> float:
    """A factor's weight rounded half-up to 4 places. Cached: a weight is one of a few shares, the
    same for every customer with data for the same factors."""
    return scoring.half_up(weight * 10000) / 10000


RECOMPUTE_CHUNK = 1000
# Customers per slice of the daily recompute: a second or so of work, so that a slice's row locks
# are held briefly and the slices spread over the workers.
DAILY_SLICE_CUSTOMERS = 2000


async def trend(session: AsyncSession, customer: HealthCustomer) -> dict[str, int | None]:
    """Points gained (or lost, negative) over the last 7 and 30 days."""
    found: dict[str, int | None] = {"d7": None, "d30": None}
    if customer.score is None or customer.computed_at is None:  # never scored: no trend
        return found
    for label, days in (("d7", 7), ("d30", 30)):
        then = await repository.score_at(session, customer.id, customer.computed_at - timedelta(days=days))
        found[label] = None if then is None else customer.score - then
    return found


async def backtest(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    horizon_days: int,
    clock_id: str | None,
    candidate: scoring.HealthModel | None = None,
) -> dict[str, Any]:
    """Over the customers whose renewal or churn fell in [start, end): how the score `horizon_days`
    before predicted it. The model in force is judged by the scores it gave then (the history); a
    candidate is scored on the facts as they stood then (subscriptions as they are now)."""
    model = candidate or await get_model(session)
    horizon = timedelta(days=horizon_days)
    outcomes = []
    for customer_id, moment, churned in await repository.outcomes(session, start=start, end=end, clock_id=clock_id):
        then = moment - horizon
        if candidate is None:
            score = await repository.score_at(session, customer_id, then)
        else:
            [(customer, facts, _)] = await load_facts(session, [customer_id], candidate, then)
            score = scoring.compute_health(facts, candidate, started_at=customer.started_at).score
        if score is not None:
            outcomes.append(Outcome(customer_id, score, churned))
    return {
        "from": start,
        "to": end,
        "horizon_days": horizon_days,
        "model": "candidate" if candidate else "in_force",
        **summarise(outcomes, model.bands),
    }
