"""health-score-svc's reactions to billing events: each updates the customer's facts and asks for a recompute."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_health import reports, service
from tenure_shared.consumer import EventHandler
from tenure_shared.events import (
    QUOTE_EVENT_TYPES,
    SUBSCRIPTION_EVENT_TYPES,
    CloudEvent,
    CustomerData,
    DunningData,
    InvoiceData,
    PaymentData,
    QuoteData,
    SubscriptionData,
    UsageRecordedData,
)


async def on_customer_changed(session: AsyncSession, event: CloudEvent) -> None:
    await service.customer_changed(session, customer=CustomerData.model_validate(event.data), at=event.time)


async def on_subscription_event(session: AsyncSession, event: CloudEvent) -> None:
    verb = event.type.removeprefix("subscription.")
    data = SubscriptionData.model_validate(event.data)
    await service.subscription_changed(session, verb=verb, data=data, clock_id=event.tenureclock, at=event.time)
    await reports.record_subscription_state(
        session, event_id=event.id, verb=verb, data=data, clock_id=event.tenureclock, at=event.time
    )


async def on_invoice_event(session: AsyncSession, event: CloudEvent) -> None:
    data = InvoiceData.model_validate(event.data)
    await service.invoice_changed(session, data=data, clock_id=event.tenureclock, at=event.time)
    await reports.record_invoice(session, data=data, clock_id=event.tenureclock, at=event.time)


async def on_payment_event(session: AsyncSession, event: CloudEvent) -> None:
    await service.payment_made(session, data=PaymentData.model_validate(event.data), clock_id=event.tenureclock, at=event.time)


async def on_dunning_event(session: AsyncSession, event: CloudEvent) -> None:
    await service.dunning_changed(session, data=DunningData.model_validate(event.data), clock_id=event.tenureclock, at=event.time)


async def on_usage_recorded(session: AsyncSession, event: CloudEvent) -> None:
    await service.usage_recorded(
        session, data=UsageRecordedData.model_validate(event.data), clock_id=event.tenureclock, at=event.time
    )


async def on_quote_event(session: AsyncSession, event: CloudEvent) -> None:
    await reports.record_quote(session, data=QuoteData.model_validate(event.data), at=event.time)


HANDLERS: dict[str, EventHandler] = {
    "customer.created": on_customer_changed,
    "customer.updated": on_customer_changed,
    **{event_type: on_subscription_event for event_type in SUBSCRIPTION_EVENT_TYPES},
    "invoice.created": on_invoice_event,
    "invoice.paid": on_invoice_event,
    "invoice.voided": on_invoice_event,
    "payment.succeeded": on_payment_event,
    "payment.failed": on_payment_event,
    "dunning.started": on_dunning_event,
    "dunning.recovered": on_dunning_event,
    "dunning.exhausted": on_dunning_event,
    "usage.recorded": on_usage_recorded,
    **{event_type: on_quote_event for event_type in QUOTE_EVENT_TYPES},
}
