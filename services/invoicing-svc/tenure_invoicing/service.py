"""invoicing-svc's use cases: bill what a subscription event asks, collect, void, one-time charges."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_invoicing import repository
from tenure_invoicing.config import SERVICE, get_settings
from tenure_invoicing.errors import CurrencyMismatch, InvoiceNotPayable, InvoiceNotVoidable
from tenure_invoicing.gateway import gateway_for
from tenure_invoicing.models import CustomerAccount, Invoice, InvoiceLine, Payment
from tenure_invoicing.schemas import ChargeIn
from tenure_invoicing.statuses import InvoiceStatus, PaymentStatus
from tenure_invoicing.usage import billing as usage_billing
from tenure_shared.clock import business_now
from tenure_shared.customer_copies import ensure_customer_copy
from tenure_shared.events import INVOICES, PAYMENTS, ChargeLine, InvoiceData, PaymentData, SubscriptionData
from tenure_shared.ids import new_id
from tenure_shared.internal_http import InternalClient, internal_client, quote_id
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


def invoice_figures(lines: Sequence[ChargeLine], credits_applied: Sequence[dict]) -> dict:
    """An invoice's period, subtotal (before discounts), total and amount due, from its lines and credits."""
    total = sum(line.amount for line in lines)
    if total < 0:
        raise ValueError("an invoice total cannot be negative; credits belong in a credit note")
    credited = sum(c["amount"] for c in credits_applied)
    if credited > total:
        raise ValueError("credits applied cannot exceed the invoice total")
    periods = [line for line in lines if line.kind == "subscription" and line.period_start]
    return {
        "period_start": periods[0].period_start if periods else None,
        "period_end": periods[0].period_end if periods else None,
        "subtotal": sum(line.amount for line in lines if line.kind != "discount"),
        "total": total,
        "amount_due": total - credited,
    }


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
    figures = invoice_figures(lines, credits_applied)
    invoice = Invoice(
        id=invoice_id or new_id("inv"),
        number=await repository.next_invoice_number(session),
        customer_id=customer_id,
        subscription_id=subscription_id,
        clock_id=clock_id,
        status=InvoiceStatus.OPEN,
        currency=currency,
        billing_reason=billing_reason,
        **figures,
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
    invoice.move_to(InvoiceStatus.PAID)
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
    if invoice.status != InvoiceStatus.OPEN or invoice.amount_due <= 0:
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
        status=PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.FAILED,
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


def invoice_id_for_event(event_id: str) -> str:
    """The id of the invoice a billing event asks for, derived from the event's id: a redelivery after a
    crash finds (or re-makes) the same invoice, its payment attempt keys and credit applications.

    Shaped like `new_id`: the event id's time part first (lists keep the order the events were made
    in), then 12 hex digits of a hash of the whole event id.
    """
    digest = hashlib.sha256(event_id.encode()).hexdigest()
    _, _, body = event_id.partition("_")
    time_part = body[:12] if re.fullmatch(r"[0-9a-f]{24}", body) else digest[12:24]
    return f"inv_{time_part}{digest[:12]}"


async def _may_spend_credits(session: AsyncSession, subscription: SubscriptionData, invoice_id: str | None) -> bool:
    """Whether credit-svc must be asked: the event owes credits of its own, or it spends the open
    credits and the customer has some in its currency as far as credit-svc's events have told, or
    credits were spent on this invoice already (a redelivery after a crash gets those applications
    back: the credit_note.applied that took the balance to zero names the invoice). A credit whose
    event is still on its way is not spent on this invoice; it stays open in credit-svc and goes on
    the next (docs/contract-deviations.md)."""
    if any(not r.refund for r in subscription.credit_requests):
        return True
    if not subscription.redeem_credits:
        return False
    if await repository.has_credit_balance(session, customer_id=subscription.customer_id, currency=subscription.currency):
        return True
    return invoice_id is not None and await repository.credit_spent_on(session, invoice_id)


async def _spend_credits(
    internal: InternalClient,
    *,
    invoice_id: str,
    subscription: SubscriptionData,
    clock_id: str | None,
    amount: int,
    at: datetime,
    preview: bool = False,
) -> list[dict]:
    """Ask credit-svc to spend the customer's credits on an invoice being created (or, with
    `preview`, what it would spend, spending nothing). Keyed by the invoice: a repeat gets the first
    applications back, so credits are spent once per invoice."""
    answer = await internal.request(
        "credit",
        "POST",
        "/internal/credits/apply-preview" if preview else "/internal/credits/apply",
        json={
            "apply_key": invoice_id,
            "invoice_id": invoice_id,
            "customer_id": subscription.customer_id,
            "subscription_id": subscription.id,
            "clock_id": clock_id,
            "currency": subscription.currency,
            "amount": amount,
            "at": at.isoformat(),
            "redeem_all": subscription.redeem_credits,
            "credit_requests": [r.model_dump(mode="json") for r in subscription.credit_requests if not r.refund],
        },
    )
    return [{"credit_note_id": a["credit_note_id"], "amount": a["amount"]} for a in answer["applications"]]


async def _credits_before_any_lock(
    session: AsyncSession,
    *,
    invoice_id: str,
    subscription: SubscriptionData,
    own_lines: Sequence[ChargeLine],
    at: datetime,
    clock_id: str | None,
    internal: InternalClient,
) -> list[dict]:
    """Spend credits on the invoice about to be made, holding no lock while credit-svc is asked.

    The invoice's total includes the usage the event closes, which only `bill_usage` can tell, and it
    locks the subscription's usage row. So the total is worked out in a savepoint that is rolled back:
    PostgreSQL releases that savepoint's row locks, and nothing it wrote stays.
    """
    async with session.begin_nested() as preview:
        usage = await usage_billing.bill_usage(session, subscription=subscription, at=at, clock_id=clock_id)
        total = sum(line.amount for line in usage.after(list(own_lines)))
        await preview.rollback()
    if total <= 0:
        return []
    credits = await _spend_credits(
        internal, invoice_id=invoice_id, subscription=subscription, clock_id=clock_id, amount=total, at=at
    )
    if subscription.redeem_credits and sum(c["amount"] for c in credits) < total:  # every credit was eligible
        await repository.forget_unknown_balance(session, customer_id=subscription.customer_id, currency=subscription.currency)
    return credits


async def bill_event(
    session: AsyncSession,
    *,
    event_id: str,
    subscription: SubscriptionData,
    own_lines: Sequence[ChargeLine],
    billing_reason: str,
    at: datetime,
    clock_id: str | None,
    internal: InternalClient,
) -> Invoice | None:
    """Invoice what a subscription event asks for (`own_lines`) and the usage it closes, once per
    event, with the customer's credits spent on it, and try to collect the rest at once.

    Credits: every open credit of the customer when the event says `redeem_credits`; otherwise only
    the credits this same event owes (an out-of-term resume's pause credit goes on its new invoice).
    """
    invoice_id = invoice_id_for_event(event_id)
    credits: list[dict] = []
    if await session.get(Invoice, invoice_id) is None and await _may_spend_credits(session, subscription, invoice_id):
        credits = await _credits_before_any_lock(
            session,
            invoice_id=invoice_id,
            subscription=subscription,
            own_lines=own_lines,
            at=at,
            clock_id=clock_id,
            internal=internal,
        )
    usage = await usage_billing.bill_usage(session, subscription=subscription, at=at, clock_id=clock_id)
    invoice = await bill_subscription_event(
        session,
        event_id=event_id,
        invoice_id=invoice_id,
        subscription=subscription,
        clock_id=clock_id,
        lines=usage.after(list(own_lines)),
        billing_reason=billing_reason,
        at=at,
        credits_applied=credits,
    )
    await usage_billing.record_billed(session, usage, invoice=invoice, source_event_id=event_id, at=at)
    return invoice


@dataclass(frozen=True)
class UpcomingInvoice:
    subscription: SubscriptionData
    issued_at: datetime
    lines: list[ChargeLine]
    credits_applied: list[dict]
    figures: dict


async def upcoming_invoice(session: AsyncSession, *, subscription_id: str, internal: InternalClient) -> UpcomingInvoice:
    """The invoice the next renewal would issue now: subscription-svc's renewal lines (the renewal's
    own code, rolled back), the usage so far and the credits that would be spent (both previews of
    the code `bill_event` runs, so the figures are the ones the renewal invoice will show)."""
    renewal = await internal.request("subscription", "GET", f"/internal/subscriptions/{quote_id(subscription_id)}/next-renewal")
    subscription = SubscriptionData.model_validate(renewal["subscription"])
    at, clock_id = datetime.fromisoformat(renewal["at"]), renewal["clock_id"]
    async with session.begin_nested() as preview:
        usage = await usage_billing.bill_usage(session, subscription=subscription, at=at, clock_id=clock_id)
        lines = usage.after(list(subscription.bill_lines))
        await preview.rollback()
    total = sum(line.amount for line in lines)
    credits: list[dict] = []
    if total > 0 and await _may_spend_credits(session, subscription, None):
        credits = await _spend_credits(
            internal,
            invoice_id=f"upcoming:{subscription_id}",
            subscription=subscription,
            clock_id=clock_id,
            amount=total,
            at=at,
            preview=True,
        )
    return UpcomingInvoice(
        subscription=subscription, issued_at=at, lines=lines, credits_applied=credits, figures=invoice_figures(lines, credits)
    )


async def bill_subscription_event(
    session: AsyncSession,
    *,
    event_id: str,
    invoice_id: str,
    subscription: SubscriptionData,
    clock_id: str | None,
    lines: Sequence[ChargeLine],
    billing_reason: str,
    at: datetime,
    credits_applied: Sequence[dict],
) -> Invoice | None:
    """Issue the event's invoice (unless it bills nothing or exists) and make its first payment attempt."""
    if not any(line.amount for line in lines) or await repository.invoice_for_event(session, event_id):
        return None
    invoice = await issue_invoice(
        session,
        customer_id=subscription.customer_id,
        subscription_id=subscription.id,
        clock_id=clock_id,
        currency=subscription.currency,
        lines=lines,
        billing_reason=billing_reason,
        at=at,
        source_event_id=event_id,
        invoice_id=invoice_id,
        credits_applied=credits_applied,
    )
    if invoice.status == InvoiceStatus.OPEN:
        await collect(
            session,
            invoice=invoice,
            attempt_key=f"{invoice.id}:1",
            initiated_by="invoice",
            at=at,
            payment_method=subscription.payment_method,
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
    if invoice.status == InvoiceStatus.VOID:
        return invoice
    if invoice.status != InvoiceStatus.OPEN:
        raise InvoiceNotVoidable(f"Invoice {invoice.id} is {invoice.status}; only open invoices can be voided.")
    at = at or await business_now(session, invoice.clock_id)
    invoice.move_to(InvoiceStatus.VOID)
    invoice.voided_at = at
    invoice.void_reason = reason
    invoice.amount_due = 0
    await _announce_invoice(session, invoice, "voided", at)
    return invoice


async def customer_account(session: AsyncSession, customer_id: str) -> CustomerAccount:
    """The customer as invoicing knows it; asks subscription-svc when its events have not arrived yet,
    so a charge right after the customer was created does not fail."""
    internal = internal_client(get_settings())
    await ensure_customer_copy(session, CustomerAccount, customer_id, internal=internal, store=repository.upsert_customer)
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
