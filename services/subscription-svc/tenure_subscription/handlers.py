"""subscription-svc's reactions to other services' events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.consumer import EventHandler
from tenure_shared.events import CloudEvent, DunningData, InvoiceData
from tenure_subscription.service import credit_timeline, discounts, lifecycle


async def on_dunning_exhausted(session: AsyncSession, event: CloudEvent) -> None:
    """The last retry failed: apply the policy's final action to the subscription."""
    case = DunningData.model_validate(event.data)
    if case.subscription_id:
        await lifecycle.apply_dunning_final_action(
            session, subscription_id=case.subscription_id, final_action=case.final_action, at=event.time
        )


async def on_invoice_voided(session: AsyncSession, event: CloudEvent) -> None:
    """A voided invoice gives its discount periods back."""
    await discounts.give_back_voided(session, InvoiceData.model_validate(event.data))


HANDLERS: dict[str, EventHandler] = {
    "credit_note.issued": credit_timeline.record_credit_note_event,
    "credit_note.applied": credit_timeline.record_credit_note_event,
    "credit_note.restored": credit_timeline.record_credit_note_event,
    "credit_note.voided": credit_timeline.record_credit_note_event,
    "refund.issued": credit_timeline.record_refund_event,
    "refund.failed": credit_timeline.record_refund_event,
    "dunning.exhausted": on_dunning_exhausted,
    "invoice.voided": on_invoice_voided,
}
