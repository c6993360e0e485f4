"""subscription-svc's quote routes (`/v1/quotes…`). A portal session sees, downloads, accepts and
declines its own customer's finalized quotes; drafts and approvals stay with the seller's API keys."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response

from tenure_shared.app import DbSession
from tenure_shared.auth import caller_customer_id, customer_scoped, ensure_customer_access, require_admin, scoped_customer_id
from tenure_shared.openapi import problem_responses
from tenure_shared.pagination import ListPage, Page, page_params
from tenure_shared.pdf import pdf_response
from tenure_subscription.errors import QuoteNotFinalized, QuoteNotFound
from tenure_subscription.models import Quote
from tenure_subscription.pdf import quote_pdf
from tenure_subscription.schemas import QuoteIn, QuoteOut, QuoteStatusFilter
from tenure_subscription.service import quotes
from tenure_subscription.statuses import QuoteStatus

router = APIRouter(tags=["quotes"])


def quote_out(quote: Quote) -> QuoteOut:
    return QuoteOut.model_validate(quote)


async def visible_quote(request: Request, session: DbSession, quote_id: str) -> Quote:
    """The quote, if the caller may see it: an API key any quote, a portal session its own customer's
    once finalized (a draft is still the seller's to change). Otherwise 404, as if it did not exist."""
    quote = await quotes.get_quote(session, quote_id)
    missing = QuoteNotFound(f"No quote {quote_id}.")
    ensure_customer_access(request, quote.customer_id, missing)
    if caller_customer_id(request) is not None and quote.status == QuoteStatus.DRAFT:
        raise missing
    return quote


@router.post("/quotes", status_code=201, responses=problem_responses(404, 409, 422))
async def create_quote(body: QuoteIn, session: DbSession) -> QuoteOut:
    """A draft quote for a change of plan, quantity and/or add-ons, with an optional coupon."""
    return quote_out(await quotes.create_quote(session, data=body))


@router.get("/quotes")
@customer_scoped
async def list_quotes(
    request: Request,
    session: DbSession,
    subscription_id: str | None = Query(None),
    customer_id: str | None = Query(None),
    status: QuoteStatusFilter = None,
    page: Page = Depends(page_params),
) -> ListPage[QuoteOut]:
    customer_id = scoped_customer_id(request, customer_id)
    rows, more = await quotes.list_quotes(
        session,
        page,
        subscription_id=subscription_id,
        status=status,
        customer_id=customer_id,
        finalized_only=caller_customer_id(request) is not None,
    )
    return ListPage[QuoteOut](data=[quote_out(q) for q in rows], has_more=more)


@router.get("/quotes/{quote_id}", responses=problem_responses(404))
@customer_scoped
async def get_quote(quote_id: str, request: Request, session: DbSession) -> QuoteOut:
    return quote_out(await visible_quote(request, session, quote_id))


@router.get(
    "/quotes/{quote_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **problem_responses(404, 409)},
)
@customer_scoped
async def get_quote_pdf(quote_id: str, request: Request, session: DbSession) -> Response:
    """The finalized quote as a PDF (number, validity, lines, discounts, totals); a draft answers 409."""
    quote = await visible_quote(request, session, quote_id)
    if quote.number is None:
        raise QuoteNotFinalized(f"Quote {quote_id} is a draft: finalize it to get its PDF.")
    return pdf_response(quote_pdf(quote), f"{quote.number}.pdf")


@router.post("/quotes/{quote_id}/finalize", responses=problem_responses(404, 409))
async def finalize_quote(quote_id: str, session: DbSession) -> QuoteOut:
    """Number it (Q-…) and open it until `expires_at` (30 days unless set)."""
    return quote_out(await quotes.finalize_quote(session, quote_id=quote_id))


@router.post("/quotes/{quote_id}/approve", dependencies=[Depends(require_admin)], responses=problem_responses(403, 404, 409))
async def approve_quote(quote_id: str, session: DbSession) -> QuoteOut:
    """An admin's approval of a draft whose discount is above the account's quote_approval_percent_off."""
    return quote_out(await quotes.approve_quote(session, quote_id=quote_id))


@router.post("/quotes/{quote_id}/accept", responses=problem_responses(404, 409, 422))
@customer_scoped
async def accept_quote(quote_id: str, request: Request, session: DbSession) -> QuoteOut:
    """Make the quoted change (end of term: scheduled; now: with proration), once."""
    await visible_quote(request, session, quote_id)
    return quote_out(await quotes.accept_quote(session, quote_id=quote_id))


@router.post("/quotes/{quote_id}/decline", responses=problem_responses(404, 409))
@customer_scoped
async def decline_quote(quote_id: str, request: Request, session: DbSession) -> QuoteOut:
    await visible_quote(request, session, quote_id)
    return quote_out(await quotes.decline_quote(session, quote_id=quote_id))


@router.post("/quotes/{quote_id}/cancel", responses=problem_responses(404, 409))
async def cancel_quote(quote_id: str, session: DbSession) -> QuoteOut:
    return quote_out(await quotes.cancel_quote(session, quote_id=quote_id))
