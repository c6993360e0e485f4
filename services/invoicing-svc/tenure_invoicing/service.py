"""invoicing-svc's use cases: bill what a subscription event asks, collect, void, one-time charges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_invoicing import repository
from tenure_invoicing.config import SERVICE, get_settings
from tenure_invoicing.errors import CurrencyMismatch, InvoiceNotPayable, InvoiceNotVoidable
from tenure_invoicing.gateway import gateway_for
from tenure_invoicing.models import CustomerAccount, Invoice, InvoiceLine, Payment
from tenure_invoicing.schemas import ChargeIn
from tenure_shared.clock import business_now
from tenure_shared.customer_copies import fetch_customer
from tenure_shared.events import INVOICES, PAYMENTS, ChargeLine, CreditRequest, InvoiceData, PaymentData
from tenure_shared.ids import new_id
from tenure_shared.internal_http import InternalClient, internal_client
from tenure_shared.outbox import add_event


def invoice_data(invoice: Invoice) -> InvoiceData:
    return InvoiceData(
        id=invoice.id,
        number=invoice.number,
        customer_id=invoice.customer_id,
        subscription_id=invoice.subscription_id,
        status=invoice.status,
        currency=invoice.currency,
        total=invoice.total,
        amount_due=invoice.amount_due,
        amount_paid=invoice.amount_paid,
        void_reason=invoice.void_reason,
        source_event_id=invoice.source_event_id,
    )


async def _announce_invoice(session: AsyncSession, invoice: Invoice, verb: str, at: datetime) -> None:
    await add_event(
        session,
        source=SERVICE,
        topic=INVOICES,
        event_type=f"invoice.{verb}",
        customer_id=invoice.customer_id,
        data=invoice_data(invoice),
        business_time=at,
        clock_id=invoice.clock_id,
    )


async def issue_invoice(
    session: AsyncSession,
    *,
    customer_id: str,
    subscription_id: str | None,
    clock_id: str | None,
    currency: str,
    lines: Sequence[ChargeLine],
    billing_reason: str,
    at: datetime,
    source_event_id: str | None = None,
    invoice_id: str | None = None,
    credits_applied: Sequence[dict] = (),
) -> Invoice:
    """Create and finalize an invoice (gapless number) from its lines, less the credits applied."""
    total = sum(line.amount for line in lines)
    if total < 0:
        raise ValueError("an invoice total cannot be negative; credits belong in a credit note")
    credited = sum(c["amount"] for c in credits_applied)
    if credited > total:
        raise ValueError("credits applied cannot exceed the invoice total")
    periods = [line for line in lines if line.kind == "subscription" and line.period_start]
    invoice = Invoice(
        id=invoice_id or new_id("inv"),
        number=await repository.next_invoice_number(session),
        customer_id=customer_id,
        subscription_id=subscription_id,
        clock_id=clock_id,
        status="open",
        currency=currency,
        billing_reason=billing_reason,
        period_start=periods[0].period_start if periods else None,
        period_end=periods[0].period_end if periods else None,
        subtotal=sum(line.amount for line in lines if line.kind != "discount"),  # before discounts
        total=total,
        amount_due=total - credited,
        amount_paid=0,
        credits_applied=list(credits_applied),
        issued_at=at,
        source_event_id=source_event_id,
    )
    invoice.lines = [
        InvoiceLine(
            position=i,
            kind=line.kind,
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.amount,
            period_start=line.period_start,
            period_end=line.period_end,
        )
        for i, line in enumerate(lines)
    ]
    session.add(invoice)
    await session.flush()
    await _announce_invoice(session, invoice, "created", at)
    if invoice.amount_due == 0:
        await _mark_paid(session, invoice, at)
    return invoice


async def _mark_paid(session: AsyncSession, invoice: Invoice, at: datetime) -> None:
    invoice.status = "paid"
    invoice.amount_paid = invoice.amount_due
    invoice.paid_at = at
    await _announce_invoice(session, invoice, "paid", at)


async def collect(
    session: AsyncSession, *, invoice: Invoice, attempt_key: str, initiated_by: str, at: datetime, payment_method: str | None
) -> Payment:
    """One payment attempt on an open invoice; repeats of the same attempt_key return the first."""
    earlier = await repository.payment_by_attempt_key(session, attempt_key)
    if earlier is not None:
        return earlier
    if invoice.status != "open" or invoice.amount_due <= 0:
        raise InvoiceNotPayable(f"Invoice {invoice.id} is {invoice.status}; nothing to collect.")
    if payment_method:
        result = await gateway_for(session).charge(
            idempotency_key=attempt_key,
            customer_id=invoice.customer_id,
            payment_method=payment_method,
            amount=invoice.amount_due,
            currency=invoice.currency,
        )
        succeeded, failure_code = result.succeeded, result.failure_code
    else:
        succeeded, failure_code = False, "no_payment_method"
    payment = Payment(
        id=new_id("pay"),
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        amount=invoice.amount_due,
        currency=invoice.currency,
        status="succeeded" if succeeded else "failed",
        failure_code=failure_code,
        payment_method=payment_method,
        initiated_by=initiated_by,
        attempt_key=attempt_key,
        attempted_at=at,
    )
    session.add(payment)
    await session.flush()
    await add_event(
        session,
        source=SERVICE,
        topic=PAYMENTS,
        event_type=f"payment.{payment.status}",
        customer_id=invoice.customer_id,
        data=PaymentData(
            id=payment.id,
            invoice_id=invoice.id,
            subscription_id=invoice.subscription_id,
            customer_id=invoice.customer_id,
            amount=payment.amount,
            currency=payment.currency,
            status=payment.status,
            failure_code=failure_code,
            attempted_at=at,
            initiated_by=initiated_by,
        ),
        business_time=at,
        clock_id=invoice.clock_id,
    )
    if succeeded:
        await _mark_paid(session, invoice, at)
    return payment


async def _spend_credits(
    internal: InternalClient,
    *,
    apply_key: str,
    invoice_id: str,
    customer_id: str,
    subscription_id: str | None,
    clock_id: str | None,
    currency: str,
    amount: int,
    at: datetime,
    redeem_all: bool,
    credit_requests: Sequence[CreditRequest],
) -> list[dict]:
    """Ask credit-svc to spend the customer's credits on an invoice being created (idempotent per key)."""
    answer = await internal.request(
        "credit",
        "POST",
        "/internal/credits/apply",
        json={
            "apply_key": apply_key,
            "invoice_id": invoice_id,
            "customer_id": customer_id,
            "subscription_id": subscription_id,
            "clock_id": clock_id,
            "currency": currency,
            "amount": amount,
            "at": at.isoformat(),
            "redeem_all": redeem_all,
            "credit_requests": [r.model_dump(mode="json") for r in credit_requests],
        },
    )
    return [{"credit_note_id": a["credit_note_id"], "amount": a["amount"]} for a in answer["applications"]]


async def bill_subscription_event(
    session: AsyncSession,
    *,
    event_id: str,
    customer_id: str,
    subscription_id: str,
    clock_id: str | None,
    currency: str,
    lines: Sequence[ChargeLine],
    billing_reason: str,
    payment_method: str | None,
    at: datetime,
    redeem_credits: bool = False,
    credit_requests: Sequence[CreditRequest] = (),
    internal: InternalClient | None = None,
) -> Invoice | None:
    """Invoice what a subscription event asks for, once per event, spend credits on it, and try to
    collect the rest at once.

    Credits: every open credit of the customer when the event says `redeem_credits`; otherwise only
    the credits this same event owes (an out-of-term resume's pause credit goes on its new invoice).
    """
    if not any(line.amount for line in lines) or await repository.invoice_for_event(session, event_id):
        return None
    invoice_id = new_id("inv")
    credits: list[dict] = []
    total = sum(line.amount for line in lines)
    spendable_requests = [r for r in credit_requests if not r.refund]
    if internal is not None and total > 0 and (redeem_credits or spendable_requests):
        # Before the invoice number is taken: the gapless counter stays locked only briefly.
        credits = await _spend_credits(
            internal,
            apply_key=f"event:{event_id}",
            invoice_id=invoice_id,
            customer_id=customer_id,
            subscription_id=subscription_id,
            clock_id=clock_id,
            currency=currency,
            amount=total,
            at=at,
            redeem_all=redeem_credits,
            credit_requests=spendable_requests,
        )
    invoice = await issue_invoice(
        session,
        customer_id=customer_id,
        subscription_id=subscription_id,
        clock_id=clock_id,
        currency=currency,
        lines=lines,
        billing_reason=billing_reason,
        at=at,
        source_event_id=event_id,
        invoice_id=invoice_id,
        credits_applied=credits,
    )
    if invoice.status == "open":
        await collect(
            session, invoice=invoice, attempt_key=f"{invoice.id}:1", initiated_by="invoice", at=at, payment_method=payment_method
        )
    return invoice


async def pay_invoice(session: AsyncSession, *, invoice_id: str) -> Payment:
    """A payment attempt asked for through the API, with the customer's current payment method."""
    invoice = await repository.get_invoice(session, invoice_id, for_update=True)
    customer = await repository.get_customer(session, invoice.customer_id)
    at = await business_now(session, invoice.clock_id)
    return await collect(
        session, invoice=invoice, attempt_key=new_id("att"), initiated_by="api", at=at, payment_method=customer.payment_method
    )


async def void_invoice(session: AsyncSession, *, invoice_id: str, reason: str, at: datetime | None = None) -> Invoice:
    """Cancel an open invoice: nothing more will be collected."""
    invoice = await repository.get_invoice(session, invoice_id, for_update=True)
    if invoice.status == "void":
        return invoice
    if invoice.status != "open":
        raise InvoiceNotVoidable(f"Invoice {invoice.id} is {invoice.status}; only open invoices can be voided.")
    at = at or await business_now(session, invoice.clock_id)
    invoice.status = "void"
    invoice.voided_at = at
    invoice.void_reason = reason
    invoice.amount_due = 0
    await _announce_invoice(session, invoice, "voided", at)
    return invoice


async def customer_account(session: AsyncSession, customer_id: str) -> CustomerAccount:
    """The customer as invoicing knows it; asks subscription-svc when its events have not arrived yet,
    so a charge right after the customer was created does not fail."""
    if await session.get(CustomerAccount, customer_id) is None:
        await repository.upsert_customer(session, await fetch_customer(internal_client(get_settings()), customer_id))
    return await repository.get_customer(session, customer_id)


async def create_charge(session: AsyncSession, *, data: ChargeIn) -> Invoice:
    """A one-time charge: invoiced and collected at once."""
    customer = await customer_account(session, data.customer_id)
    if customer.currency != data.currency:
        raise CurrencyMismatch(f"The customer pays in {customer.currency}, not {data.currency}.")
    at = await business_now(session, customer.clock_id)
    line = ChargeLine(kind="one_time", description=data.description, unit_amount=data.amount, amount=data.amount)
    invoice = await issue_invoice(
        session,
        customer_id=customer.id,
        subscription_id=None,
        clock_id=customer.clock_id,
        currency=data.currency,
        lines=[line],
        billing_reason="one_time_charge",
        at=at,
    )
    await collect(
        session,
        invoice=invoice,
        attempt_key=f"{invoice.id}:1",
        initiated_by="invoice",
        at=at,
        payment_method=customer.payment_method,
    )
    return invoice


async def refund_to_customer(
    session: AsyncSession, *, refund_key: str, customer_id: str, amount: int, currency: str
) -> tuple[bool, str | None]:
    """Pay money back through the gateway to the customer's payment method (credit-svc asks)."""
    customer = await repository.get_customer(session, customer_id)
    if customer.currency != currency:
        raise CurrencyMismatch(f"The customer pays in {customer.currency}, not {currency}.")
    result = await gateway_for(session).refund(
        idempotency_key=refund_key,
        customer_id=customer_id,
        payment_method=customer.payment_method,
        amount=amount,
        currency=currency,
    )
    return result.succeeded, result.failure_code


async def collect_open_invoices(
    session: AsyncSession, *, subscription_id: str, payment_method: str | None, attempt_key: str
) -> list[tuple[Invoice, Payment]]:
    """One payment attempt on each open invoice of a subscription (e.g. before it is reactivated);
    repeats of the same attempt_key return the first outcomes."""
    outcomes = []
    for invoice in await repository.open_invoices_of_subscription(session, subscription_id):
        at = await business_now(session, invoice.clock_id)
        payment = await collect(
            session,
            invoice=invoice,
            attempt_key=f"{attempt_key}:{invoice.id}",
            initiated_by="api",
            at=at,
            payment_method=payment_method,
        )
        outcomes.append((invoice, payment))
    return outcomes
