"""Tables owned by invoicing-svc."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Index, Integer, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenure_invoicing.statuses import INVOICE_MOVES, InvoiceStatus
from tenure_shared.db import Base
from tenure_shared.states import move

TZ = DateTime(timezone=True)


class CustomerAccount(Base):
    """What invoicing knows of a customer, kept from customer.* events."""

    __tablename__ = "customer_accounts"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    payment_method: Mapped[str | None] = mapped_column(String)
    clock_id: Mapped[str | None] = mapped_column(String)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    number: Mapped[str] = mapped_column(String, unique=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    subscription_id: Mapped[str | None] = mapped_column(String, index=True)
    clock_id: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)  # InvoiceStatus; changed only by move_to
    currency: Mapped[str] = mapped_column(String(3))
    billing_reason: Mapped[str] = mapped_column(String)
    period_start: Mapped[datetime | None] = mapped_column(TZ)
    period_end: Mapped[datetime | None] = mapped_column(TZ)
    subtotal: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    amount_due: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_applied: Mapped[list[dict]] = mapped_column(JSONB, default=list)
    issued_at: Mapped[datetime] = mapped_column(TZ)
    paid_at: Mapped[datetime | None] = mapped_column(TZ)
    voided_at: Mapped[datetime | None] = mapped_column(TZ)
    void_reason: Mapped[str | None] = mapped_column(String)
    # The event that asked for this invoice: one invoice per event, whatever is redelivered.
    source_event_id: Mapped[str | None] = mapped_column(String, unique=True)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    lines: Mapped[list[InvoiceLine]] = relationship(order_by="InvoiceLine.position", lazy="selectin")

    def move_to(self, status: InvoiceStatus) -> None:
        self.status = move(self.status, status, INVOICE_MOVES, what=f"Invoice {self.id}")


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String)
    description: Mapped[str] = mapped_column(String)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[datetime | None] = mapped_column(TZ)
    period_end: Mapped[datetime | None] = mapped_column(TZ)
    # Usage lines: the exact (possibly fractional) quantity, and the metric, price and tiers behind the amount.
    quantity_decimal: Mapped[str | None] = mapped_column(String)
    details: Mapped[dict | None] = mapped_column(JSONB)


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    customer_id: Mapped[str] = mapped_column(String)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String)  # succeeded | failed
    failure_code: Mapped[str | None] = mapped_column(String)
    payment_method: Mapped[str | None] = mapped_column(String)
    initiated_by: Mapped[str] = mapped_column(String)
    # Retrying an attempt with the same key returns the first outcome instead of charging again.
    attempt_key: Mapped[str] = mapped_column(String, unique=True)
    attempted_at: Mapped[datetime] = mapped_column(TZ)


class SandboxCharge(Base):
    """The sandbox gateway's own record of charges, like a test-mode account at a real gateway."""

    __tablename__ = "sandbox_charges"

    idempotency_key: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    payment_method: Mapped[str] = mapped_column(String)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    succeeded: Mapped[bool]
    failure_code: Mapped[str | None] = mapped_column(String)


class SandboxRefund(Base):
    """The sandbox gateway's record of refunds (money paid back from a credit note)."""

    __tablename__ = "sandbox_refunds"

    idempotency_key: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    payment_method: Mapped[str | None] = mapped_column(String)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    succeeded: Mapped[bool]
    failure_code: Mapped[str | None] = mapped_column(String)


class CreditNoteBalance(Base):
    """What is left on a customer's credit note, as credit-svc's credit events last said. The ledger
    is credit-svc's; this copy only tells billing when there is nothing to spend, so it need not ask."""

    __tablename__ = "credit_note_balances"
    __table_args__ = (
        Index("ix_credit_note_balances_spendable", "customer_id", "currency", postgresql_where=text("remaining > 0")),
    )

    credit_note_id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String)
    currency: Mapped[str] = mapped_column(String(3))
    remaining: Mapped[int] = mapped_column(BigInteger)


class CreditSpentOnInvoice(Base):
    """An invoice credit-svc spent credits on (credit_note.applied): a billing event redelivered
    after a crash asks credit-svc again for that invoice's applications, even once the balance
    those credits came from reads zero."""

    __tablename__ = "credit_spent_on_invoices"

    invoice_id: Mapped[str] = mapped_column(String, primary_key=True)
