"""credit-svc's reactions to other services' events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_credit import repository, service
from tenure_credit.config import get_settings
from tenure_shared.consumer import EventHandler
from tenure_shared.events import SUBSCRIPTION_EVENT_TYPES, CloudEvent, CustomerData, InvoiceData, SubscriptionData
from tenure_shared.internal_http import internal_client


async def on_customer_changed(session: AsyncSession, event: CloudEvent) -> None:
    customer = CustomerData.model_validate(event.data)
    await repository.upsert_customer(session, customer)


async def on_subscription_event(session: AsyncSession, event: CloudEvent) -> None:
    """Issue the credit notes the event asks for (once per request key), refunding where asked."""
    subscription = SubscriptionData.model_validate(event.data)
    if subscription.credit_requests:
        await service.settle_requested_credits(
            session,
            requests=subscription.credit_requests,
            customer_id=subscription.customer_id,
            subscription_id=subscription.id,
            clock_id=event.tenureclock,
            at=event.time,
            internal=internal_client(get_settings()),
        )


async def on_invoice_voided(session: AsyncSession, event: CloudEvent) -> None:
    invoice = InvoiceData.model_validate(event.data)
    await service.restore_credits_of_voided_invoice(session, invoice_id=invoice.id, at=event.time)


HANDLERS: dict[str, EventHandler] = {
    "customer.created": on_customer_changed,
    "customer.updated": on_customer_changed,
    "invoice.voided": on_invoice_voided,
    # Any subscription event may owe credits (a pause at resume, a downgrade, a cancellation).
    **dict.fromkeys(SUBSCRIPTION_EVENT_TYPES, on_subscription_event),
}
