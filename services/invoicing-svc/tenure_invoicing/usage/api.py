"""Usage routes: ingestion (`POST /v1/usage-events`) and a subscription's unbilled usage."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response

from tenure_invoicing.usage import billing, repository
from tenure_invoicing.usage.errors import InvalidUsageBatch, MalformedJson, SubscriptionNotFound, TooManyEvents
from tenure_invoicing.usage.ingestion import MAX_EVENTS, UsageIngestor, parse_events
from tenure_invoicing.usage.schemas import MetricUsageOut, SubscriptionUsageOut, UsageEventsIn, UsageEventsOut, UsageTierOut
from tenure_shared.app import DbSession
from tenure_shared.clock import business_now

router = APIRouter(tags=["usage"])

# The body schema for the docs, with the event schema inlined (the route does not parse it with pydantic).
_BODY_SCHEMA = UsageEventsIn.model_json_schema()
_BODY_SCHEMA["properties"]["events"]["items"] = _BODY_SCHEMA.pop("$defs")["UsageEventIn"]


@router.post(
    "/usage-events",
    response_model=UsageEventsOut,
    summary="Record usage events (up to 1000 a call, deduplicated by id)",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _BODY_SCHEMA}}}},
)
async def record_usage_events(request: Request) -> Response:
    """Well-formed events are stored (a repeated id counts once); malformed ones are listed in `errors`."""
    # The hot path: the body is read and checked without pydantic and written with raw asyncpg
    # (no ORM session) — see usage/ingestion.py for why.
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise MalformedJson("The request body is not valid JSON.") from None
    events = payload.get("events") if type(payload) is dict else None
    if type(events) is not list or len(payload) != 1:
        raise InvalidUsageBatch('The body is {"events": [...]}.')
    if len(events) > MAX_EVENTS:
        raise TooManyEvents(f"At most {MAX_EVENTS} events a call; this one has {len(events)}.")
    ingestor: UsageIngestor = request.app.state.usage_ingestor
    batch = parse_events(events, await ingestor.metrics())
    inserted = await ingestor.store(batch)
    duplicate_ids = [event_id for event_id in batch.ids if event_id not in inserted] + batch.repeats
    reply = {
        "accepted": len(inserted),
        "duplicates": len(duplicate_ids),
        "duplicate_ids": duplicate_ids,
        "rejected": len(batch.errors),
        "errors": batch.errors,
    }
    return Response(orjson.dumps(reply), media_type="application/json")


@router.get("/subscriptions/{subscription_id}/usage")
async def get_subscription_usage(subscription_id: str, session: DbSession) -> SubscriptionUsageOut:
    """The usage not billed yet (normally the current period's), per metric, and what it would bill now."""
    state = await repository.get_state(session, subscription_id)
    if state is None:
        raise SubscriptionNotFound(f"No subscription {subscription_id} (yet) in invoicing.")
    now = await business_now(session, state.clock_id)
    items = await billing.usage_until(session, state=state, end=now, at=now, with_late=False)
    return SubscriptionUsageOut(
        subscription_id=state.id,
        customer_id=state.customer_id,
        currency=state.currency,
        period_start=state.current_period_start,
        period_end=state.current_period_end,
        usage_since=state.billed_until,
        as_of=now,
        metrics=[
            MetricUsageOut(
                metric_code=item.metric_code,
                metric_name=item.metric_name,
                aggregation=item.aggregation,
                period_start=item.window_start,
                period_end=item.window_end,
                quantity=billing.decimal_text(item.quantity),
                billable_quantity=billing.decimal_text(item.priced.billable_quantity),
                model=item.charge.get("model", "per_unit"),
                unit_amount=item.unit_amount,
                included_units=item.charge.get("included_units", 0),
                tiers=[UsageTierOut(**tier) for tier in item.details()["tiers"]],
                amount=item.amount,
            )
            for item in items
        ],
        amount=sum(item.amount for item in items),
    )
