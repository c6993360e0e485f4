"""credit-svc's routes: public credit notes, balances, refunds, previews; internal application of
credits to invoices (invoicing-svc) and pause-credit figures (subscription-svc)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from tenure_credit import repository, service
from tenure_credit.errors import CreditNoteNotFound, CustomerNotFound
from tenure_credit.pdf import credit_note_pdf
from tenure_credit.schemas import (
    AppliedCreditOut,
    ApplyIn,
    ApplyOut,
    BalanceOut,
    CreditBalanceOut,
    CreditNoteIn,
    CreditNoteOut,
    CreditNoteStatusFilter,
    CreditPreviewIn,
    CreditPreviewOut,
    ListOut,
    PauseCreditIn,
    RefundIn,
    RefundOut,
)
from tenure_credit.statuses import RefundStatus
from tenure_shared.app import DbSession
from tenure_shared.auth import (
    customer_scoped,
    ensure_customer_access,
    ensure_subscription_access,
    require_internal_token,
    scoped_customer_id,
)
from tenure_shared.errors import problem_response
from tenure_shared.internal_http import internal_client
from tenure_shared.openapi import problem_responses
from tenure_shared.pagination import Page, page_params
from tenure_shared.pdf import pdf_response

router = APIRouter()
internal_router = APIRouter(dependencies=[Depends(require_internal_token)])


@router.get("/credit-notes", tags=["credit notes"])
@customer_scoped
async def list_credit_notes(
    request: Request,
    session: DbSession,
    page: Annotated[Page, Depends(page_params)],
    customer_id: str | None = Query(None),
    subscription_id: str | None = Query(None),
    status: CreditNoteStatusFilter = None,
) -> ListOut[CreditNoteOut]:
    rows, more = await repository.list_credit_notes(
        session, page, customer_id=scoped_customer_id(request, customer_id), subscription_id=subscription_id, status=status
    )
    return ListOut(data=[CreditNoteOut.model_validate(n) for n in rows], has_more=more)


@router.get("/credit-notes/{credit_note_id}", tags=["credit notes"])
@customer_scoped
async def get_credit_note(credit_note_id: str, request: Request, session: DbSession) -> CreditNoteOut:
    note = await repository.get_credit_note(session, credit_note_id)
    ensure_customer_access(request, note.customer_id, CreditNoteNotFound(f"No credit note {credit_note_id}."))
    return CreditNoteOut.model_validate(note)


@router.get(
    "/credit-notes/{credit_note_id}/pdf",
    tags=["credit notes"],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **problem_responses(404)},
)
@customer_scoped
async def get_credit_note_pdf(credit_note_id: str, request: Request, session: DbSession) -> Response:
    """The credit note as a PDF (number, parties, period, amount, where it was applied, what is left)."""
    note = await repository.get_credit_note(session, credit_note_id)
    ensure_customer_access(request, note.customer_id, CreditNoteNotFound(f"No credit note {credit_note_id}."))
    return pdf_response(credit_note_pdf(note), f"{note.number}.pdf")


@router.post("/credit-notes", status_code=201, tags=["credit notes"], responses=problem_responses(404))
async def create_credit_note(body: CreditNoteIn, session: DbSession) -> CreditNoteOut:
    return CreditNoteOut.model_validate(await service.issue_manual_credit(session, data=body))


@router.post("/credit-notes/{credit_note_id}/void", tags=["credit notes"], responses=problem_responses(409))
async def void_credit_note(credit_note_id: str, session: DbSession) -> CreditNoteOut:
    return CreditNoteOut.model_validate(await service.void_credit_note(session, credit_note_id=credit_note_id))


@router.get("/customers/{customer_id}/credit-balance", tags=["credit notes"])
@customer_scoped
async def credit_balance(customer_id: str, request: Request, session: DbSession) -> CreditBalanceOut:
    ensure_customer_access(request, customer_id, CustomerNotFound(f"No customer {customer_id}."))
    customer = await service.customer_account(session, customer_id)
    balances = [BalanceOut(currency=c, amount=a, credit_notes=n) for c, a, n in await repository.balances(session, customer_id)]
    if not any(b.currency == customer.currency for b in balances):
        balances.insert(0, BalanceOut(currency=customer.currency, amount=0, credit_notes=0))
    return CreditBalanceOut(customer_id=customer_id, balances=balances)


@router.post(
    "/refunds", status_code=201, tags=["refunds"], response_model=RefundOut, responses=problem_responses(402, 404, 409, 503)
)
async def create_refund(body: RefundIn, request: Request):
    # Its own transactions (no DbSession): the pending refund is committed before the gateway is asked.
    refund = await service.refund(
        request.app.state.session_factory,
        credit_note_id=body.credit_note_id,
        amount=body.amount,
        internal=internal_client(request.app.state.settings),
    )
    if refund.status == RefundStatus.FAILED:
        # The failed attempt is recorded (it happened); the credit stays on the note.
        return problem_response(
            402, "refund_failed", "Refund failed", f"The gateway refused the refund: {refund.failure_code}.", refund_id=refund.id
        )
    return RefundOut.model_validate(refund)


@router.get("/refunds", tags=["refunds"])
async def list_refunds(
    session: DbSession,
    page: Annotated[Page, Depends(page_params)],
    credit_note_id: str | None = Query(None),
    customer_id: str | None = Query(None),
) -> ListOut[RefundOut]:
    rows, more = await repository.list_refunds(session, page, credit_note_id=credit_note_id, customer_id=customer_id)
    return ListOut(data=[RefundOut.model_validate(r) for r in rows], has_more=more)


@router.post("/credit-previews", tags=["credit notes"], responses=problem_responses(404, 409, 503))
@customer_scoped
async def preview_credit(body: CreditPreviewIn, request: Request) -> CreditPreviewOut:
    """The credit a pause would earn, without pausing anything."""
    await ensure_subscription_access(request, body.subscription_id)
    answer, credit = await service.preview_subscription_pause(
        subscription_id=body.subscription_id,
        pause_at=body.pause_at,
        resume_at=body.resume_at,
        internal=internal_client(request.app.state.settings),
    )
    window = answer["window"]
    return CreditPreviewOut(
        subscription_id=body.subscription_id,
        unused_days=credit.unused_days,
        period_days=credit.period_days,
        amount=credit.amount,
        currency=answer["currency"],
        period_start=window["period_start"],
        period_end=window["period_end"],
        pause_at=window["pause_at"],
        resume_at=answer["resume_at"],
    )


# ---- internal ---------------------------------------------------------------------------------


@internal_router.post("/credits/apply")
async def apply_credits(body: ApplyIn, session: DbSession) -> ApplyOut:
    """Spend open credits on an invoice invoicing-svc is creating."""
    applications = await service.apply_credits(session, data=body)
    return ApplyOut(
        applications=[
            AppliedCreditOut(credit_note_id=a.credit_note_id, amount=a.amount, applied_at=a.applied_at) for a in applications
        ],
        amount_applied=sum(a.amount for a in applications),
    )


@internal_router.post("/credits/apply-preview")
async def preview_credit_application(body: ApplyIn, session: DbSession) -> ApplyOut:
    """What `/credits/apply` would spend now, for an upcoming invoice: the same code in a savepoint
    that is rolled back, so nothing is spent or claimed."""
    async with session.begin_nested() as preview:
        applications = await service.apply_credits(session, data=body)
        answer = ApplyOut(
            applications=[
                AppliedCreditOut(credit_note_id=a.credit_note_id, amount=a.amount, applied_at=a.applied_at) for a in applications
            ],
            amount_applied=sum(a.amount for a in applications),
        )
        await preview.rollback()
    return answer


@internal_router.post("/credit-previews")
async def pause_credit_figure(body: PauseCreditIn) -> CreditPreviewOut:
    """The credit of a pause window subscription-svc describes (its pause reply's preview)."""
    credit = service.window_credit(body.window)
    return CreditPreviewOut(
        unused_days=credit.unused_days,
        period_days=credit.period_days,
        amount=credit.amount,
        currency=body.currency,
        period_start=body.window.period_start,
        period_end=body.window.period_end,
        pause_at=body.window.pause_at,
        resume_at=body.window.resume_at,
    )
