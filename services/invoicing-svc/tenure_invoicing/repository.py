"""All of invoicing-svc's queries."""

from __future__ import annotations

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_invoicing.errors import CustomerNotFound, InvoiceNotFound
from tenure_invoicing.models import CreditNoteBalance, CreditSpentOnInvoice, CustomerAccount, Invoice, Payment
from tenure_invoicing.statuses import InvoiceStatus
from tenure_shared.customer_copies import upsert_customer_copy
from tenure_shared.events import CustomerData
from tenure_shared.numbering import next_number
from tenure_shared.pagination import Page, paginate


async def get_invoice(session: AsyncSession, invoice_id: str, *, for_update: bool = False) -> Invoice:
    invoice = await session.get(Invoice, invoice_id, with_for_update=for_update)
    if invoice is None:
        raise InvoiceNotFound(f"No invoice {invoice_id}.")
    return invoice


async def list_invoices(
    session: AsyncSession, page: Page, *, customer_id: str | None, subscription_id: str | None, status: str | None
) -> tuple[list[Invoice], bool]:
    filters = {Invoice.customer_id: customer_id, Invoice.subscription_id: subscription_id, Invoice.status: status}
    return await paginate(session, select(Invoice), Invoice.id, page, filters=filters)


async def list_payments(session: AsyncSession, page: Page, *, invoice_id: str | None) -> tuple[list[Payment], bool]:
    return await paginate(session, select(Payment), Payment.id, page, filters={Payment.invoice_id: invoice_id})


async def payment_by_attempt_key(session: AsyncSession, attempt_key: str) -> Payment | None:
    return await session.scalar(select(Payment).where(Payment.attempt_key == attempt_key))


async def invoice_for_event(session: AsyncSession, event_id: str) -> Invoice | None:
    return await session.scalar(select(Invoice).where(Invoice.source_event_id == event_id))


async def get_customer(session: AsyncSession, customer_id: str) -> CustomerAccount:
    customer = await session.get(CustomerAccount, customer_id)
    if customer is None:
        raise CustomerNotFound(f"No customer {customer_id} (yet) in invoicing.")
    return customer


async def upsert_customer(session: AsyncSession, customer: CustomerData) -> None:
    await upsert_customer_copy(session, CustomerAccount, customer, payment_method=customer.payment_method)


async def next_invoice_number(session: AsyncSession) -> str:
    """Gapless: the sequence row stays locked until the invoice's transaction ends."""
    return await next_number(session, "invoice", "INV")


async def open_invoices_of_subscription(session: AsyncSession, subscription_id: str) -> list[Invoice]:
    """The subscription's invoices still asking for money, oldest first, locked for collection."""
    statement = (
        select(Invoice)
        .where(Invoice.subscription_id == subscription_id, Invoice.status == InvoiceStatus.OPEN, Invoice.amount_due > 0)
        .order_by(Invoice.issued_at, Invoice.number)
        .with_for_update()
    )
    return list((await session.scalars(statement)).all())


async def record_credit_note_balance(
    session: AsyncSession, *, credit_note_id: str, customer_id: str, currency: str, remaining: int
) -> None:
    """The note's remainder as of the latest of its events (one customer's events arrive in order)."""
    values = dict(credit_note_id=credit_note_id, customer_id=customer_id, currency=currency, remaining=remaining)
    statement = insert(CreditNoteBalance).values(**values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[CreditNoteBalance.credit_note_id], set_={"remaining": remaining})
    )


async def record_credit_spent_on(session: AsyncSession, invoice_id: str) -> None:
    statement = insert(CreditSpentOnInvoice).values(invoice_id=invoice_id)
    await session.execute(statement.on_conflict_do_nothing(index_elements=[CreditSpentOnInvoice.invoice_id]))


async def credit_spent_on(session: AsyncSession, invoice_id: str) -> bool:
    return await session.get(CreditSpentOnInvoice, invoice_id) is not None


async def has_credit_balance(session: AsyncSession, *, customer_id: str, currency: str) -> bool:
    """Whether any of the customer's credit notes in this currency had something left, as far as
    credit-svc's events have told."""
    spendable = select(CreditNoteBalance.credit_note_id).where(
        CreditNoteBalance.customer_id == customer_id, CreditNoteBalance.currency == currency, CreditNoteBalance.remaining > 0
    )
    return bool(await session.scalar(select(exists(spendable))))


async def forget_unknown_balance(session: AsyncSession, *, customer_id: str, currency: str) -> None:
    """credit-svc spent less than it was asked, so the customer has nothing left there: the row of
    unknown balance a customer older than this copy got (migration 0011) has served."""
    await session.execute(
        delete(CreditNoteBalance).where(
            CreditNoteBalance.credit_note_id == f"unknown:{customer_id}", CreditNoteBalance.currency == currency
        )
    )
