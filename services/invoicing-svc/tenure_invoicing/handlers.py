"""invoicing-svc's reactions to other services' events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_invoicing import repository, service
from tenure_invoicing.config import get_settings
from tenure_invoicing.usage.handlers import on_metric_created, on_subscription_tracked
from tenure_shared.consumer import EventHandler
from tenure_shared.events import (
    SUBSCRIPTION_EVENT_TYPES,
    CloudEvent,
    CreditNoteData,
    CustomerData,
    DunningData,
    RefundData,
    SubscriptionData,
)
from tenure_shared.internal_http import internal_client


async def on_customer_changed(session: AsyncSession, event: CloudEvent) -> None:
    customer = CustomerData.model_validate(event.data)
    await repository.upsert_customer(session, customer)


async def on_subscription_billed(session: AsyncSession, event: CloudEvent) -> None:
    """Any subscription event that carries bill lines (or closes a window of billable usage) becomes an
    invoice, collected at once; the usage of the window it closes is billed in arrears on it."""
    subscription = SubscriptionData.model_validate(event.data)
    await service.bill_event(
        session,
        event_id=event.id,
        subscription=subscription,
        own_lines=subscription.bill_lines,
        billing_reason=subscription.billing_reason or "subscription",
        at=event.time,
        clock_id=event.tenureclock,
        internal=internal_client(get_settings()),
    )


async def on_dunning_exhausted(session: AsyncSession, event: CloudEvent) -> None:
    """With move_to_free_plan the unpaid invoice is voided; cancel and mark_unpaid leave it open."""
    case = DunningData.model_validate(event.data)
    if case.final_action == "move_to_free_plan":
        await service.void_invoice(session, invoice_id=case.invoice_id, reason="dunning_exhausted", at=event.time)


async def on_credit_note_changed(session: AsyncSession, event: CloudEvent) -> None:
    """Keep what is left on the note, so billing knows when the customer has no credit to spend, and
    which invoices credits were spent on."""
    note = CreditNoteData.model_validate(event.data)
    await repository.record_credit_note_balance(
        session, credit_note_id=note.id, customer_id=note.customer_id, currency=note.currency, remaining=note.remaining
    )
    if event.type == "credit_note.applied" and note.application is not None:
        await repository.record_credit_spent_on(session, note.application.invoice_id)


async def on_refund_settled(session: AsyncSession, event: CloudEvent) -> None:
    """A refund takes money off its note (a failed one gives it back) without a credit_note event."""
    refund = RefundData.model_validate(event.data)
    if refund.credit_note_remaining is not None:  # announced before the field existed: a later event will tell
        await repository.record_credit_note_balance(
            session,
            credit_note_id=refund.credit_note_id,
            customer_id=refund.customer_id,
            currency=refund.currency,
            remaining=refund.credit_note_remaining,
        )


HANDLERS: dict[str, EventHandler] = {
    "customer.created": on_customer_changed,
    "customer.updated": on_customer_changed,
    "subscription.activated": on_subscription_billed,
    "subscription.renewed": on_subscription_billed,
    "subscription.changed": on_subscription_billed,
    "subscription.resumed": on_subscription_billed,
    # What is still owed at the end (proration kept for the next invoice), and a reactivation's new period.
    "subscription.cancelled": on_subscription_billed,
    "subscription.expired": on_subscription_billed,
    "subscription.reactivated": on_subscription_billed,
    "dunning.exhausted": on_dunning_exhausted,
    "metric.created": on_metric_created,
    **dict.fromkeys(
        ("credit_note.issued", "credit_note.applied", "credit_note.restored", "credit_note.voided"), on_credit_note_changed
    ),
    "refund.issued": on_refund_settled,
    "refund.failed": on_refund_settled,
}
for _event_type in SUBSCRIPTION_EVENT_TYPES:  # the rest of the lifecycle keeps usage billing's plan intervals
    HANDLERS.setdefault(_event_type, on_subscription_tracked)
