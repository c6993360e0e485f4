"""invoicing-svc's routes: public invoices, payments, charges; internal collection for dunning."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from tenure_invoicing import repository, service
from tenure_invoicing.errors import InvoiceNotFound
from tenure_invoicing.pdf import invoice_pdf
from tenure_invoicing.schemas import (
    ChargeIn,
    CollectedInvoiceOut,
    CollectIn,
    CollectOpenIn,
    CollectOpenOut,
    CreditAppliedOut,
    InvoiceOut,
    InvoiceStatusFilter,
    LineOut,
    ListOut,
    PaymentOut,
    RefundIn,
    RefundResultOut,
    UpcomingInvoiceOut,
)
from tenure_invoicing.statuses import PaymentStatus
from tenure_shared.app import DbSession
from tenure_shared.auth import (
    customer_scoped,
    ensure_customer_access,
    ensure_subscription_access,
    require_internal_token,
    scoped_customer_id,
)
from tenure_shared.clock import business_now
from tenure_shared.errors import problem_response
from tenure_shared.internal_http import internal_client
from tenure_shared.openapi import problem_responses
from tenure_shared.pagination import Page, page_params
from tenure_shared.pdf import pdf_response

router = APIRouter()
internal_router = APIRouter(dependencies=[Depends(require_internal_token)])


@router.get("/invoices", tags=["invoices"])
@customer_scoped
async def list_invoices(
    request: Request,
    session: DbSession,
    customer_id: str | None = Query(None),
    subscription_id: str | None = Query(None),
    status: InvoiceStatusFilter = None,
    page: Page = Depends(page_params),
) -> ListOut[InvoiceOut]:
    rows, more = await repository.list_invoices(
        session, page, customer_id=scoped_customer_id(request, customer_id), subscription_id=subscription_id, status=status
    )
    return ListOut(data=[InvoiceOut.model_validate(i) for i in rows], has_more=more)


@router.get("/invoices/upcoming", tags=["invoices"], responses=problem_responses(404, 409, 503))
@customer_scoped
async def upcoming_invoice(request: Request, session: DbSession, subscription_id: str = Query(...)) -> UpcomingInvoiceOut:
    await ensure_subscription_access(request, subscription_id)
    upcoming = await service.upcoming_invoice(
        session, subscription_id=subscription_id, internal=internal_client(request.app.state.settings)
    )
    return UpcomingInvoiceOut(
        customer_id=upcoming.subscription.customer_id,
        subscription_id=upcoming.subscription.id,
        currency=upcoming.subscription.currency,
        billing_reason=upcoming.subscription.billing_reason or "subscription_cycle",
        lines=[LineOut(**line.model_dump(include=set(LineOut.model_fields))) for line in upcoming.lines],
        credits_applied=[CreditAppliedOut(**c) for c in upcoming.credits_applied],
        issued_at=upcoming.issued_at,
        **upcoming.figures,
    )


@router.get("/invoices/{invoice_id}", tags=["invoices"])
@customer_scoped
async def get_invoice(invoice_id: str, request: Request, session: DbSession) -> InvoiceOut:
    invoice = await repository.get_invoice(session, invoice_id)
    ensure_customer_access(request, invoice.customer_id, InvoiceNotFound(f"No invoice {invoice_id}."))
    return InvoiceOut.model_validate(invoice)


@router.get(
    "/invoices/{invoice_id}/pdf",
    tags=["invoices"],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **problem_responses(404)},
)
@customer_scoped
async def get_invoice_pdf(invoice_id: str, request: Request, session: DbSession) -> Response:
    """The invoice as a PDF (number, parties, period, lines, discounts, credits, totals)."""
    invoice = await repository.get_invoice(session, invoice_id)
    ensure_customer_access(request, invoice.customer_id, InvoiceNotFound(f"No invoice {invoice_id}."))
    return pdf_response(invoice_pdf(invoice), f"{invoice.number}.pdf")


@router.post("/invoices/{invoice_id}/pay", tags=["invoices"], response_model=InvoiceOut, responses=problem_responses(402, 409))
async def pay_invoice(invoice_id: str, session: DbSession):
    payment = await service.pay_invoice(session, invoice_id=invoice_id)
    if payment.status == PaymentStatus.FAILED:
        # The failed attempt is recorded (it happened); the reply says it failed.
        return problem_response(
            402, "payment_failed", "Payment failed", f"The payment was declined: {payment.failure_code}.", payment_id=payment.id
        )
    return InvoiceOut.model_validate(await repository.get_invoice(session, invoice_id))


@router.post("/invoices/{invoice_id}/void", tags=["invoices"], responses=problem_responses(409))
async def void_invoice(invoice_id: str, session: DbSession) -> InvoiceOut:
    return InvoiceOut.model_validate(await service.void_invoice(session, invoice_id=invoice_id, reason="manual"))


@router.post("/charges", status_code=201, tags=["charges"], responses=problem_responses(404))
async def create_charge(body: ChargeIn, session: DbSession) -> InvoiceOut:
    return InvoiceOut.model_validate(await service.create_charge(session, data=body))


@router.get("/payments", tags=["payments"])
async def list_payments(
    session: DbSession, invoice_id: str | None = Query(None), page: Page = Depends(page_params)
) -> ListOut[PaymentOut]:
    rows, more = await repository.list_payments(session, page, invoice_id=invoice_id)
    return ListOut(data=[PaymentOut.model_validate(p) for p in rows], has_more=more)


@internal_router.post("/invoices/{invoice_id}/collect")
async def collect_invoice(invoice_id: str, body: CollectIn, session: DbSession) -> PaymentOut:
    """One payment attempt for dunning, idempotent per attempt_key."""
    invoice = await repository.get_invoice(session, invoice_id, for_update=True)
    customer = await repository.get_customer(session, invoice.customer_id)
    at = await business_now(session, invoice.clock_id)
    payment = await service.collect(
        session,
        invoice=invoice,
        attempt_key=body.attempt_key,
        initiated_by=body.initiated_by,
        at=at,
        payment_method=customer.payment_method,
    )
    return PaymentOut.model_validate(payment)


@internal_router.post("/subscriptions/{subscription_id}/collect-open-invoices")
async def collect_open_invoices(subscription_id: str, body: CollectOpenIn, session: DbSession) -> CollectOpenOut:
    """subscription-svc collects what a subscription owes before reactivating it (failed attempts are kept)."""
    outcomes = await service.collect_open_invoices(
        session, subscription_id=subscription_id, payment_method=body.payment_method, attempt_key=body.attempt_key
    )
    return CollectOpenOut(
        invoices=[
            CollectedInvoiceOut(
                invoice_id=invoice.id,
                status=invoice.status,
                amount_due=invoice.amount_due,
                payment_id=payment.id,
                failure_code=payment.failure_code,
            )
            for invoice, payment in outcomes
        ]
    )


@internal_router.post("/refunds")
async def refund(body: RefundIn, session: DbSession) -> RefundResultOut:
    """credit-svc pays a credit note back: the gateway stays here, in one place."""
    succeeded, failure_code = await service.refund_to_customer(
        session, refund_key=body.refund_key, customer_id=body.customer_id, amount=body.amount, currency=body.currency
    )
    return RefundResultOut(status="succeeded" if succeeded else "failed", failure_code=failure_code)
