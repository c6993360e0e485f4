"""Copies of subscription-svc's customers kept by other services (table `customer_accounts`).

They come from customer.* events; the newest `version` wins whatever order events and direct
fetches arrive in, and a service that must answer about a customer it has not heard of yet asks
subscription-svc (`GET /internal/customers/{id}`) instead of refusing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.events import CustomerData
from tenure_shared.internal_http import InternalClient, quote_id


async def upsert_customer_copy(session: AsyncSession, model: Any, customer: CustomerData, **extra: Any) -> None:
    """Store `customer` in `model` unless a newer version is there already; `extra` adds columns."""
    values = dict(id=customer.id, currency=customer.currency, clock_id=customer.test_clock_id, version=customer.version, **extra)
    statement = insert(model).values(**values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[model.id], set_=values, where=model.version < statement.excluded.version)
    )


async def fetch_customer(internal: InternalClient, customer_id: str) -> CustomerData:
    """The customer as subscription-svc has it now (404 customer_not_found when unknown)."""
    return await internal.get_model("subscription", f"/internal/customers/{quote_id(customer_id)}", CustomerData)


async def ensure_customer_copy(
    session: AsyncSession,
    model: Any,
    customer_id: str,
    *,
    internal: InternalClient,
    store: Callable[[AsyncSession, CustomerData], Awaitable[None]],
) -> None:
    """Make sure `model` has the customer: when its customer events have not arrived yet (they travel
    on another topic than, say, an invoice's), fetch it from subscription-svc and `store` it."""
    if await session.get(model, customer_id) is None:
        await store(session, await fetch_customer(internal, customer_id))
