"""Customers: create and update, each announced on the bus for the other services."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.clock import business_now
from tenure_shared.errors import Conflict
from tenure_shared.events import SUBSCRIPTIONS, CustomerData
from tenure_shared.ids import new_id
from tenure_shared.outbox import add_event
from tenure_subscription import repository
from tenure_subscription.config import SERVICE
from tenure_subscription.models import Customer
from tenure_subscription.schemas import CustomerIn, CustomerPatch


def customer_data(customer: Customer) -> CustomerData:
    return CustomerData(
        id=customer.id,
        email=customer.email,
        name=customer.name,
        currency=customer.currency,
        payment_method=customer.payment_method,
        test_clock_id=customer.test_clock_id,
        version=customer.version,
    )


async def _announce(session: AsyncSession, customer: Customer, event_type: str) -> None:
    await add_event(
        session,
        source=SERVICE,
        topic=SUBSCRIPTIONS,
        event_type=event_type,
        customer_id=customer.id,
        data=customer_data(customer),
        business_time=await business_now(session, customer.test_clock_id),
        clock_id=customer.test_clock_id,
    )


async def create_customer(session: AsyncSession, *, data: CustomerIn) -> Customer:
    """Create a customer, optionally living on a test clock."""
    if data.test_clock_id:
        await repository.get_test_clock(session, data.test_clock_id)
    if data.external_id and await session.scalar(select(Customer.id).where(Customer.external_id == data.external_id)):
        raise Conflict(f"A customer with external_id {data.external_id!r} exists already.", code="external_id_taken")
    customer = Customer(
        id=new_id("cus"),
        email=data.email,
        name=data.name,
        currency=data.currency,
        external_id=data.external_id,
        payment_method=data.payment_method,
        test_clock_id=data.test_clock_id,
        metadata_=data.metadata,
    )
    session.add(customer)
    await session.flush()
    await _announce(session, customer, "customer.created")
    return customer


async def update_customer(session: AsyncSession, *, customer_id: str, patch: CustomerPatch) -> Customer:
    """Change contact details or the payment method."""
    customer = await repository.get_customer(session, customer_id, for_update=True)
    changes = patch.model_dump(exclude_unset=True)
    for field, value in changes.items():
        setattr(customer, "metadata_" if field == "metadata" else field, value)
    customer.version += 1
    await session.flush()
    await _announce(session, customer, "customer.updated")
    return customer
