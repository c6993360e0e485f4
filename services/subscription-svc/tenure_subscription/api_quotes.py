"""subscription-svc's quote routes (`/v1/quotes…`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from tenure_shared.app import DbSession
from tenure_shared.auth import require_admin
from tenure_shared.openapi import problem_responses
from tenure_shared.pagination import ListPage, Page, filter_of, page_params
from tenure_subscription.models import Quote
from tenure_subscription.schemas import QuoteIn, QuoteOut
from tenure_subscription.service import quotes
from tenure_subscription.statuses import QuoteStatus

router = APIRouter(tags=["quotes"])
QuoteStatusFilter = filter_of(QuoteStatus)


def quote_out(quote: Quote) -> QuoteOut:
    return QuoteOut.model_validate(quote)


@router.post("/quotes", status_code=201, responses=problem_responses(404, 409, 422))
async def create_quote(body: QuoteIn, session: DbSession) -> QuoteOut:
    """A draft quote for a change of plan, quantity and/or add-ons, with an optional coupon."""
    return quote_out(await quotes.create_quote(session, data=body))


@router.get("/quotes")
async def list_quotes(
    session: DbSession,
    subscription_id: str | None = Query(None),
    status: QuoteStatusFilter = None,
    page: Page = Depends(page_params),
) -> ListPage[QuoteOut]:
    rows, more = await quotes.list_quotes(session, page, subscription_id=subscription_id, status=status)
    return ListPage[QuoteOut](data=[quote_out(q) for q in rows], has_more=more)


@router.get("/quotes/{quote_id}", responses=problem_responses(404))
async def get_quote(quote_id: str, session: DbSession) -> QuoteOut:
    return quote_out(await quotes.get_quote(session, quote_id))


@router.post("/quotes/{quote_id}/finalize", responses=problem_responses(404, 409))
async def finalize_quote(quote_id: str, session: DbSession) -> QuoteOut:
    """Number it (Q-…) and open it until `expires_at` (30 days unless set)."""
    return quote_out(await quotes.finalize_quote(session, quote_id=quote_id))


@router.post("/quotes/{quote_id}/approve", dependencies=[Depends(require_admin)], responses=problem_responses(403, 404, 409))
async def approve_quote(quote_id: str, session: DbSession) -> QuoteOut:
    """An admin's approval of a draft whose discount is above the account's quote_approval_percent_off."""
    return quote_out(await quotes.approve_quote(session, quote_id=quote_id))


@router.post("/quotes/{quote_id}/accept", responses=problem_responses(404, 409, 422))
async def accept_quote(quote_id: str, session: DbSession) -> QuoteOut:
    """Make the quoted change (end of term: scheduled; now: with proration), once."""
    return quote_out(await quotes.accept_quote(session, quote_id=quote_id))


@router.post("/quotes/{quote_id}/decline", responses=problem_responses(404, 409))
async def decline_quote(quote_id: str, session: DbSession) -> QuoteOut:
    return quote_out(await quotes.decline_quote(session, quote_id=quote_id))


@router.post("/quotes/{quote_id}/cancel", responses=problem_responses(404, 409))
async def cancel_quote(quote_id: str, session: DbSession) -> QuoteOut:
    return quote_out(await quotes.cancel_quote(session, quote_id=quote_id))
