"""dunning-svc's reactions to payment and invoice events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_dunning import service
from tenure_shared.consumer import EventHandler
from tenure_shared.events import CloudEvent, InvoiceData, PaymentData


async def on_payment_failed(session: AsyncSession, event: CloudEvent) -> None:
    payment = PaymentData.model_validate(event.data)
    if payment.initiated_by != "dunning":  # dunning records its own attempts as it makes them
        await service.open_case(session, payment=payment, clock_id=event.tenureclock)


async def on_invoice_paid(session: AsyncSession, event: CloudEvent) -> None:
    invoice = InvoiceData.model_validate(event.data)
    await service.invoice_settled_elsewhere(session, invoice_id=invoice.id, paid=True, at=event.time)


async def on_invoice_voided(session: AsyncSession, event: CloudEvent) -> None:
    invoice = InvoiceData.model_validate(event.data)
    if invoice.void_reason != "dunning_exhausted":
        await service.invoice_settled_elsewhere(session, invoice_id=invoice.id, paid=False, at=event.time)


HANDLERS: dict[str, EventHandler] = {
    "payment.failed": on_payment_failed,
    "invoice.paid": on_invoice_paid,
    "invoice.voided": on_invoice_voided,
}
