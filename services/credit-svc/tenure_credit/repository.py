"""All of credit-svc's queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_credit.errors import CreditNoteNotFound, CustomerNotFound
from tenure_credit.models import (
    CreditApplication,
    CreditApplyRequest,
    CreditNote,
    CustomerAccount,
    Refund,
)
from tenure_credit.statuses import NoteStatus
from tenure_shared.customer_copies import upsert_customer_copy
from tenure_shared.events import CustomerData
from tenure_shared.numbering import lock_sequence, next_number
from tenure_shared.pagination import Page, paginate

SPENDABLE = (NoteStatus.OPEN, NoteStatus.PARTIALLY_APPLIED)


async def get_customer(session: AsyncSession, customer_id: str) -> CustomerAccount:
    customer = await session.get(CustomerAccount, customer_id)
    if customer is None:
        raise CustomerNotFound(f"No customer {customer_id} (yet) in credit-svc.")
    return customer


async def upsert_customer(session: AsyncSession, customer: CustomerData) -> None:
    await upsert_customer_copy(session, CustomerAccount, customer)


async def get_credit_note(session: AsyncSession, credit_note_id: str, *, for_update: bool = False) -> CreditNote:
    note = await session.get(CreditNote, credit_note_id, with_for_update=for_update)
    if note is None:
        raise CreditNoteNotFound(f"No credit note {credit_note_id}.")
    return note


async def list_credit_notes(
    session: AsyncSession, page: Page, *, customer_id: str | None, subscription_id: str | None, status: str | None
) -> tuple[list[CreditNote], bool]:
    filters = {CreditNote.customer_id: customer_id, CreditNote.subscription_id: subscription_id, CreditNote.status: status}
    return await paginate(session, select(CreditNote), CreditNote.id, page, filters=filters)


CREDIT_NOTE_SEQUENCE = "credit_note"


async def lock_numbering(session: AsyncSession) -> int:
    """Lock the credit-note sequence for the rest of the transaction; returns its last value.

    Holding it serialises every issue, so "is this source key issued yet?" has one answer.
    """
    return await lock_sequence(session, CREDIT_NOTE_SEQUENCE)


async def next_credit_note_number(session: AsyncSession) -> str:
    """Gapless: call with the sequence locked (`lock_numbering`), in the note's own transaction."""
    return await next_number(session, CREDIT_NOTE_SEQUENCE, "CN")


async def credit_note_by_source_key(session: AsyncSession, source_key: str) -> CreditNote | None:
    return await session.scalar(select(CreditNote).where(CreditNote.source_key == source_key))


async def lock_spendable_notes(
    session: AsyncSession, *, customer_id: str, currency: str, only_keys: Sequence[str] | None
) -> list[CreditNote]:
    """The customer's spendable notes in this currency, oldest first, locked until commit.

    A concurrent application waits here, then sees the remainders the first one left.
    """
    statement = (
        select(CreditNote)
        .where(
            CreditNote.customer_id == customer_id,
            CreditNote.currency == currency,
            CreditNote.status.in_(SPENDABLE),
            CreditNote.remaining > 0,
        )
        .order_by(CreditNote.issued_at, CreditNote.number)
        .with_for_update()
    )
    if only_keys is not None:
        statement = statement.where(CreditNote.source_key.in_(list(only_keys)))
    return list((await session.scalars(statement)).all())


async def claim_apply_key(
    session: AsyncSession, *, apply_key: str, customer_id: str, invoice_id: str, currency: str, amount: int
) -> bool:
    """True when this apply_key is new; a twin in flight makes this wait until it ends."""
    statement = (
        insert(CreditApplyRequest)
        .values(apply_key=apply_key, customer_id=customer_id, invoice_id=invoice_id, currency=currency, amount=amount)
        .on_conflict_do_nothing(index_elements=[CreditApplyRequest.apply_key])
        .returning(CreditApplyRequest.apply_key)
    )
    return (await session.execute(statement)).first() is not None


async def applications_for_key(session: AsyncSession, apply_key: str) -> list[CreditApplication]:
    statement = select(CreditApplication).where(CreditApplication.apply_key == apply_key).order_by(CreditApplication.id)
    return list((await session.scalars(statement)).all())


async def applications_for_invoice(session: AsyncSession, invoice_id: str) -> list[CreditApplication]:
    statement = (
        select(CreditApplication)
        .where(CreditApplication.invoice_id == invoice_id, CreditApplication.reversed_at.is_(None))
        .order_by(CreditApplication.id)
        .with_for_update()
    )
    return list((await session.scalars(statement)).all())


async def balances(session: AsyncSession, customer_id: str) -> list[tuple[str, int, int]]:
    """(currency, spendable amount, spendable note count) per currency."""
    statement = (
        select(CreditNote.currency, func.coalesce(func.sum(CreditNote.remaining), 0), func.count())
        .where(CreditNote.customer_id == customer_id, CreditNote.status.in_(SPENDABLE), CreditNote.remaining > 0)
        .group_by(CreditNote.currency)
        .order_by(CreditNote.currency)
    )
    return [(currency, int(amount), count) for currency, amount, count in (await session.execute(statement)).all()]


async def refund_by_key(session: AsyncSession, refund_key: str) -> Refund | None:
    return await session.scalar(select(Refund).where(Refund.refund_key == refund_key))


async def list_refunds(session: AsyncSession, page: Page, *, credit_note_id: str | None, customer_id: str | None):
    filters = {Refund.credit_note_id: credit_note_id, Refund.customer_id: customer_id}
    return await paginate(session, select(Refund), Refund.id, page, filters=filters)
