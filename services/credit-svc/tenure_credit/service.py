"""credit-svc's use cases: issue credit notes (from subscription events or by hand), spend them on
invoices oldest first, give them back when an invoice is voided, refund them, void them, preview a
pause credit. The pause arithmetic lives in `credit.py` only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenure_credit import repository
from tenure_credit.config import SERVICE, get_settings
from tenure_credit.credit import OpenCredit, PauseCredit, allocate_credits, note_status, pause_credit
from tenure_credit.errors import (
    CreditNoteNotRefundable,
    CreditNoteNotVoidable,
    CurrencyMismatch,
    InvalidPauseWindow,
    RefundExceedsRemaining,
)
from tenure_credit.models import CreditApplication, CreditNote, CustomerAccount, Refund
from tenure_credit.schemas import ApplyIn, CreditNoteIn
from tenure_credit.statuses import NoteStatus, RefundStatus
from tenure_shared.clock import business_now, real_now
from tenure_shared.customer_copies import ensure_customer_copy
from tenure_shared.due_work import cancel_job, schedule_job
from tenure_shared.events import (
    CREDITS,
    CreditApplicationData,
    CreditNoteData,
    CreditRequest,
    PauseWindow,
    RefundData,
)
from tenure_shared.ids import new_id
from tenure_shared.internal_http import InternalClient, PeerRefused, internal_client, quote_id
from tenure_shared.outbox import add_event


def credit_note_data(note: CreditNote, application: CreditApplication | None = None) -> CreditNoteData:
    return CreditNoteData(
        id=note.id,
        number=note.number,
        customer_id=note.customer_id,
        subscription_id=note.subscription_id,
        reason=note.reason,
        currency=note.currency,
        amount=note.amount,
        remaining=note.remaining,
        status=note.status,
        period_start=note.period_start,
        period_end=note.period_end,
        issued_at=note.issued_at,
        application=CreditApplicationData(
            invoice_id=application.invoice_id,
            subscription_id=application.subscription_id,
            amount=application.amount,
            applied_at=application.applied_at,
        )
        if application
        else None,
    )


async def _announce(
    session: AsyncSession, note: CreditNote, verb: str, at: datetime, application: CreditApplication | None = None
) -> None:
    await add_event(
        session,
        source=SERVICE,
        topic=CREDITS,
        event_type=f"credit_note.{verb}",
        customer_id=note.customer_id,
        data=credit_note_data(note, application),
        business_time=at,
        clock_id=note.clock_id,
    )


def _restate(note: CreditNote) -> None:
    note.move_to(
        note_status(amount=note.amount, remaining=note.remaining, refunded=note.refunded, voided=note.voided_at is not None)
    )


def window_credit(window: PauseWindow) -> PauseCredit:
    """The credit a pause window earns: the one call of the pause arithmetic."""
    try:
        return pause_credit(
            period_amount=window.period_amount,
            period_start=window.period_start,
            period_end=window.period_end,
            pause_at=window.pause_at,
            resume_at=window.resume_at,
            tz=window.timezone,
        )
    except ValueError as exc:
        raise InvalidPauseWindow(str(exc)) from exc


async def _new_note(
    session: AsyncSession,
    *,
    customer_id: str,
    subscription_id: str | None,
    clock_id: str | None,
    reason: str,
    description: str,
    currency: str,
    amount: int,
    period_start: datetime | None,
    period_end: datetime | None,
    at: datetime,
    source_key: str | None,
) -> CreditNote:
    """Number and store a note (numbering must already be locked) and announce it."""
    note = CreditNote(
        id=new_id("cn"),
        number=await repository.next_credit_note_number(session),
        customer_id=customer_id,
        subscription_id=subscription_id,
        clock_id=clock_id,
        reason=reason,
        description=description,
        currency=currency,
        amount=amount,
        remaining=amount,
        refunded=0,
        status=NoteStatus.OPEN,
        period_start=period_start,
        period_end=period_end,
        issued_at=at,
        source_key=source_key,
        applications=[],
    )
    session.add(note)
    await session.flush()
    await _announce(session, note, "issued", at)
    return note


def requested_amount(request: CreditRequest) -> int:
    """What the note a request asks for is worth (a pause credit is priced here)."""
    return window_credit(request.pause).amount if request.pause is not None else request.amount or 0


async def issue_requested_credit(
    session: AsyncSession,
    *,
    request: CreditRequest,
    customer_id: str,
    subscription_id: str | None,
    clock_id: str | None,
    at: datetime,
) -> CreditNote | None:
    """Issue the note a subscription event asks for, once per request key; None when nothing is owed."""
    amount = requested_amount(request)
    period_start, period_end = request.period_start, request.period_end
    if request.pause is not None:
        # The credited days: [pause day, min(resume day, period end)).
        period_start = period_start or request.pause.pause_at
        period_end = period_end or min(request.pause.resume_at, request.pause.period_end)
    if amount <= 0:
        return None  # e.g. a pause of a free plan: nothing was paid, nothing is owed
    await repository.lock_numbering(session)
    earlier = await repository.credit_note_by_source_key(session, request.key)
    if earlier is not None:
        return earlier
    return await _new_note(
        session,
        customer_id=customer_id,
        subscription_id=subscription_id,
        clock_id=clock_id,
        reason=request.reason,
        description=request.description,
        currency=request.currency,
        amount=amount,
        period_start=period_start,
        period_end=period_end,
        at=at,
        source_key=request.key,
    )


async def settle_requested_credits(
    session: AsyncSession,
    *,
    requests: list[CreditRequest],
    customer_id: str,
    subscription_id: str | None,
    clock_id: str | None,
    at: datetime,
    internal: InternalClient,
) -> None:
    """A subscription event's credits: issue each; pay back at once those asked as refunds.

    The refunds go to the gateway first, before the numbering lock is taken, under a key derived
    from the request: a redelivery after a crash asks again with the same key and gets the first
    answer, so the money goes out once; the note and its settled refund are then recorded together.
    """
    payouts = {}
    for request in requests:
        key = f"refund:{request.key}"
        amount = requested_amount(request)
        if request.refund and amount > 0 and await repository.refund_by_key(session, key) is None:
            payouts[request.key] = (
                key,
                amount,
                await _pay_out(internal, refund_key=key, customer_id=customer_id, amount=amount, currency=request.currency),
            )
    for request in requests:
        note = await issue_requested_credit(
            session, request=request, customer_id=customer_id, subscription_id=subscription_id, clock_id=clock_id, at=at
        )
        if note is not None and request.key in payouts:
            key, amount, outcome = payouts[request.key]
            refund = await _record_pending_refund(session, note=note, amount=amount, refund_key=key, at=at)
            await _settle_refund(session, refund=refund, note=note, outcome=outcome)


async def customer_account(session: AsyncSession, customer_id: str) -> CustomerAccount:
    """The customer as credit-svc knows it; asks subscription-svc when its events have not arrived yet,
    so a manual note or a balance right after the customer was created does not fail."""
    internal = internal_client(get_settings())
    await ensure_customer_copy(session, CustomerAccount, customer_id, internal=internal, store=repository.upsert_customer)
    return await repository.get_customer(session, customer_id)


async def issue_manual_credit(session: AsyncSession, *, data: CreditNoteIn) -> CreditNote:
    """A credit note written by hand (goodwill, a correction)."""
    customer = await customer_account(session, data.customer_id)
    if customer.currency != data.currency:
        raise CurrencyMismatch(f"The customer pays in {customer.currency}, not {data.currency}.")
    at = await business_now(session, customer.clock_id)
    await repository.lock_numbering(session)
    return await _new_note(
        session,
        customer_id=customer.id,
        subscription_id=data.subscription_id,
        clock_id=customer.clock_id,
        reason="manual",
        description=data.description,
        currency=data.currency,
        amount=data.amount,
        period_start=data.period_start,
        period_end=data.period_end,
        at=at,
        source_key=None,
    )


async def apply_credits(session: AsyncSession, *, data: ApplyIn) -> list[CreditApplication]:
    """Spend open credits on an invoice being created, oldest first, in one transaction.

    The billing event's own credit requests are issued first (whoever comes first, this call or the
    event consumer, issues them; the other finds them). Repeats of an apply_key return the first
    applications; the notes are locked, so two invoices at once can never spend one credit twice.
    """
    if not await repository.claim_apply_key(
        session,
        apply_key=data.apply_key,
        customer_id=data.customer_id,
        invoice_id=data.invoice_id,
        currency=data.currency,
        amount=data.amount,
    ):
        # invoicing-svc keys an application by the invoice's id, derived from its billing event: a
        # redelivery after a crash asks again for the same invoice and gets the same credits.
        return await repository.applications_for_key(session, data.apply_key)
    own = [r for r in data.credit_requests if not r.refund]
    for request in own:
        await issue_requested_credit(
            session,
            request=request,
            customer_id=data.customer_id,
            subscription_id=data.subscription_id,
            clock_id=data.clock_id,
            at=data.at,
        )
    if not data.redeem_all and not own:
        return []
    notes = await repository.lock_spendable_notes(
        session,
        customer_id=data.customer_id,
        currency=data.currency,
        only_keys=None if data.redeem_all else [r.key for r in own],
    )
    by_id = {note.id: note for note in notes}
    applications = []
    for note_id, amount in allocate_credits([OpenCredit(n.id, n.remaining) for n in notes], data.amount):
        note = by_id[note_id]
        note.remaining -= amount
        _restate(note)
        application = CreditApplication(
            credit_note_id=note.id,
            invoice_id=data.invoice_id,
            subscription_id=data.subscription_id,
            apply_key=data.apply_key,
            amount=amount,
            applied_at=data.at,
        )
        session.add(application)
        applications.append(application)
        await session.flush()
        await _announce(session, note, "applied", data.at, application)
    return applications


async def restore_credits_of_voided_invoice(session: AsyncSession, *, invoice_id: str, at: datetime) -> None:
    """A voided invoice asks nothing any more: the credits spent on it go back onto their notes."""
    for application in await repository.applications_for_invoice(session, invoice_id):
        note = await repository.get_credit_note(session, application.credit_note_id, for_update=True)
        application.reversed_at = at
        if note.voided_at is not None:
            continue  # a voided note stays spent
        note.remaining += application.amount
        _restate(note)
        await session.flush()
        await _announce(session, note, "restored", at, application)


async def void_credit_note(session: AsyncSession, *, credit_note_id: str) -> CreditNote:
    """Cancel what is left of a note: it can no longer be spent or refunded."""
    note = await repository.get_credit_note(session, credit_note_id, for_update=True)
    if note.status == NoteStatus.VOID:
        return note
    if note.status not in repository.SPENDABLE:
        raise CreditNoteNotVoidable(f"Credit note {note.number} is {note.status}; nothing is left to void.")
    at = await business_now(session, note.clock_id)
    note.remaining = 0
    note.voided_at = at
    _restate(note)
    await session.flush()
    await _announce(session, note, "voided", at)
    return note


SETTLE_REFUND = "settle_refund"
# A refund still pending this long after it was asked for was left by a crash: the sweep settles it.
SETTLE_REFUND_AFTER = timedelta(seconds=30)


def _settle_key(refund_id: str) -> str:
    return f"{SETTLE_REFUND}:{refund_id}"


async def _record_pending_refund(
    session: AsyncSession, *, note: CreditNote, amount: int, refund_key: str, at: datetime
) -> Refund:
    """Record a refund as pending, its amount taken off the note's remainder at once (so it can be
    neither spent nor refunded again while the gateway is asked). The note must be locked."""
    if note.status not in repository.SPENDABLE:
        raise CreditNoteNotRefundable(f"Credit note {note.number} is {note.status}; nothing is left to refund.")
    if amount > note.remaining:
        raise RefundExceedsRemaining(f"Credit note {note.number} has {note.remaining} left; {amount} asked.")
    refund = Refund(
        id=new_id("ref"),
        refund_key=refund_key,
        credit_note_id=note.id,
        customer_id=note.customer_id,
        amount=amount,
        currency=note.currency,
        status=RefundStatus.PENDING,
        refunded_at=at,
    )
    session.add(refund)
    note.remaining -= amount
    note.refunded += amount
    _restate(note)
    await session.flush()
    return refund


async def _pay_out(internal: InternalClient, *, refund_key: str, customer_id: str, amount: int, currency: str) -> dict:
    """Ask invoicing-svc's gateway to pay the money back; once per refund_key, whatever is repeated."""
    return await internal.request(
        "invoicing",
        "POST",
        "/internal/refunds",
        json={"refund_key": refund_key, "customer_id": customer_id, "amount": amount, "currency": currency},
    )


async def _settle_refund(session: AsyncSession, *, refund: Refund, note: CreditNote, outcome: dict) -> Refund:
    """Record the gateway's answer on a pending refund (both rows locked) and announce it; a failed
    refund gives its amount back to the note."""
    if refund.status != RefundStatus.PENDING:
        return refund  # settled by the other path (the request itself, or the sweep)
    refund.move_to(RefundStatus(outcome["status"]))
    refund.failure_code = outcome.get("failure_code")
    if refund.status != RefundStatus.SUCCEEDED:
        note.remaining += refund.amount
        note.refunded -= refund.amount
        _restate(note)
    await cancel_job(session, key=_settle_key(refund.id))
    await session.flush()
    await add_event(
        session,
        source=SERVICE,
        topic=CREDITS,
        event_type="refund.issued" if refund.status == RefundStatus.SUCCEEDED else "refund.failed",
        customer_id=note.customer_id,
        data=RefundData(
            id=refund.id,
            credit_note_id=note.id,
            customer_id=note.customer_id,
            subscription_id=note.subscription_id,
            amount=refund.amount,
            currency=note.currency,
            status=refund.status,
            failure_code=refund.failure_code,
            refunded_at=refund.refunded_at,
            credit_note_remaining=note.remaining,
        ),
        business_time=refund.refunded_at,
        clock_id=note.clock_id,
    )
    return refund


async def settle_pending_refund(session: AsyncSession, *, refund_id: str, internal: InternalClient) -> Refund:
    """Ask the gateway (again, with the refund's own key) and settle a pending refund. Nothing is
    locked while the gateway is asked; the rows are locked only to record its answer."""
    refund = await session.get(Refund, refund_id)
    # The id is of a refund this service wrote (refund() or its sweep job), and refunds are never deleted.
    assert refund is not None
    if refund.status != RefundStatus.PENDING:
        return refund
    try:
        outcome = await _pay_out(
            internal, refund_key=refund.refund_key, customer_id=refund.customer_id, amount=refund.amount, currency=refund.currency
        )
    except PeerRefused as exc:
        # A refusal that will not change: the refund failed, and its amount goes back to the note.
        # (DependencyUnavailable passes through: invoicing is away, the refund stays pending.)
        outcome = {"status": "failed", "failure_code": exc.code}
    await session.refresh(refund, with_for_update=True)
    note = await repository.get_credit_note(session, refund.credit_note_id, for_update=True)
    return await _settle_refund(session, refund=refund, note=note, outcome=outcome)


async def refund(
    sessions: async_sessionmaker[AsyncSession], *, credit_note_id: str, amount: int | None, internal: InternalClient
) -> Refund:
    """A refund asked for through the API, in two transactions with the gateway call between them:
    the pending refund is committed first (with a sweep job, should this process die before the
    answer is recorded), then the gateway is asked, then the answer is recorded."""
    async with sessions() as session, session.begin():
        note = await repository.get_credit_note(session, credit_note_id, for_update=True)
        at = await business_now(session, note.clock_id)
        pending = await _record_pending_refund(
            session, note=note, amount=note.remaining if amount is None else amount, refund_key=new_id("rfk"), at=at
        )
        await schedule_job(
            session,
            kind=SETTLE_REFUND,
            key=_settle_key(pending.id),
            due_at=real_now() + SETTLE_REFUND_AFTER,
            clock_id=None,  # real time: a crash is recovered whatever the note's test clock does
            payload={"refund_id": pending.id},
        )
    async with sessions() as session, session.begin():
        return await settle_pending_refund(session, refund_id=pending.id, internal=internal)


async def preview_subscription_pause(
    *, subscription_id: str, pause_at: datetime | None, resume_at: datetime | None, internal: InternalClient
) -> tuple[dict, PauseCredit]:
    """The credit a pause would earn: subscription-svc describes the window, `credit.py` prices it."""
    answer = await internal.request(
        "subscription",
        "POST",
        f"/internal/subscriptions/{quote_id(subscription_id)}/pause-window",
        json={
            "pause_at": pause_at.isoformat() if pause_at else None,
            "resume_at": resume_at.isoformat() if resume_at else None,
        },
    )
    return answer, window_credit(PauseWindow.model_validate(answer["window"]))
