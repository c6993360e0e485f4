"""REST signals (tickets, surveys, product activity): up to 1000 a call, deduplicated by id.

As `POST /v1/usage-events` in invoicing: a body that is not `{"<items>": [...]}` of at most 1000
items is refused whole; otherwise each valid item is stored and each invalid one (bad field, unknown
customer) is listed in `errors` and stores nothing. A repeated id is a duplicate, except that a
ticket's later version (same id, other content) updates it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_health import repository, service
from tenure_health.errors import InvalidSignalBatch, TooManySignals
from tenure_health.models import Activity, HealthCustomer, Survey, Ticket
from tenure_health.schemas import ActivityIn, ItemError, SignalsOut, SurveyIn, TicketIn
from tenure_shared.clock import business_now
from tenure_shared.errors import TenureError

MAX_ITEMS = 1000
KINDS: dict[str, tuple[str, type[BaseModel], type]] = {
    "tickets": ("tickets", TicketIn, Ticket),
    "surveys": ("surveys", SurveyIn, Survey),
    "activity": ("events", ActivityIn, Activity),
}


def _items(body: Any, field: str) -> list:
    if type(body) is not dict or set(body) != {field} or type(body[field]) is not list:
        raise InvalidSignalBatch(f'The body is {{"{field}": [...]}}.')
    if len(body[field]) > MAX_ITEMS:
        raise TooManySignals(f"At most {MAX_ITEMS} items a call; this one has {len(body[field])}.")
    return body[field]


def _validation_error(index: int, raw: Any, exc: ValidationError) -> ItemError:
    first = exc.errors()[0]
    item_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    field = ".".join(str(part) for part in first["loc"]) or None
    return ItemError(index=index, id=item_id, field=field, code="invalid_field", detail=first["msg"])


async def record_signals(session: AsyncSession, *, kind: str, body: Any) -> SignalsOut:
    """Store a batch of signals of one kind and recompute the customers they concern."""
    field, schema, model = KINDS[kind]
    adapter = TypeAdapter(schema)
    errors: list[ItemError] = []
    valid: list[tuple[int, Any]] = []
    for index, raw in enumerate(_items(body, field)):
        try:
            valid.append((index, adapter.validate_python(raw)))
        except ValidationError as exc:
            errors.append(_validation_error(index, raw, exc))
    stored = await repository.existing(session, model, [item.id for _, item in valid])
    customers: dict[str, HealthCustomer | None] = {}
    seen: dict[str, Any] = {}
    accepted = updated = 0
    duplicate_ids: list[str] = []
    for index, item in valid:
        if item.customer_id not in customers:
            customers[item.customer_id] = await _customer(session, item.customer_id)
        if customers[item.customer_id] is None:
            errors.append(
                ItemError(
                    index=index,
                    id=item.id,
                    field="customer_id",
                    code="customer_not_found",
                    detail=f"No customer {item.customer_id}.",
                )
            )
            continue
        values = item.model_dump()
        row = stored.get(item.id) or seen.get(item.id)
        if row is None:
            row = model(**values)
            session.add(row)
            seen[item.id] = row
            accepted += 1
        elif kind == "tickets" and any(getattr(row, k) != v for k, v in values.items()):
            if row.customer_id != item.customer_id:
                errors.append(
                    ItemError(
                        index=index,
                        id=item.id,
                        field="customer_id",
                        code="ticket_customer_mismatch",
                        detail="A ticket keeps its customer.",
                    )
                )
                continue
            for key, value in values.items():
                setattr(row, key, value)
            updated += 1
        else:
            duplicate_ids.append(item.id)
    await session.flush()
    for customer in customers.values():
        if customer is not None:
            now = await business_now(session, customer.clock_id)
            await service.ensure_daily(session, clock_id=customer.clock_id, at=now)
            await service.request_recompute(session, customer, at=now)
    errors.sort(key=lambda e: e.index)
    return SignalsOut(
        accepted=accepted,
        updated=updated,
        duplicates=len(duplicate_ids),
        duplicate_ids=duplicate_ids,
        rejected=len(errors),
        errors=errors,
    )


async def _customer(session: AsyncSession, customer_id: str) -> HealthCustomer | None:
    try:
        customer = await service.known_customer(session, customer_id)
    except TenureError as exc:
        if exc.status == 404:
            return None
        raise
    if customer.started_at is None:
        customer.started_at = await business_now(session, customer.clock_id)
    return customer
