"""The credits of a subscription on its timeline: credit-svc's events, recorded as they arrive.

credit_note.issued / voided go on the note's subscription; credit_note.applied / restored on the
subscription of the invoice the credit was spent on; refund.issued / failed on the note's subscription.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.events import CloudEvent, CreditNoteData, RefundData
from tenure_subscription.models import Subscription, TimelineEntry


async def _record(session: AsyncSession, subscription_id: str | None, event: CloudEvent, data: dict) -> None:
    if subscription_id and await session.get(Subscription, subscription_id) is not None:
        session.add(TimelineEntry(subscription_id=subscription_id, event_type=event.type, occurred_at=event.time, data=data))


async def record_credit_note_event(session: AsyncSession, event: CloudEvent) -> None:
    note = CreditNoteData.model_validate(event.data)
    data = {
        "credit_note_id": note.id,
        "number": note.number,
        "reason": note.reason,
        "amount": note.amount,
        "remaining": note.remaining,
        "currency": note.currency,
        "status": note.status,
    }
    subscription_id = note.subscription_id
    if note.application is not None:
        data.update(invoice_id=note.application.invoice_id, amount=note.application.amount)
        subscription_id = note.application.subscription_id or note.subscription_id
    await _record(session, subscription_id, event, data)


async def record_refund_event(session: AsyncSession, event: CloudEvent) -> None:
    refund = RefundData.model_validate(event.data)
    data = {
        "refund_id": refund.id,
        "credit_note_id": refund.credit_note_id,
        "amount": refund.amount,
        "currency": refund.currency,
        "status": refund.status,
        "failure_code": refund.failure_code,
    }
    await _record(session, refund.subscription_id, event, data)
