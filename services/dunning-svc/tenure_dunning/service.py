"""dunning-svc's use cases: open a case on a failed payment, retry on schedule, recover or give up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_dunning import repository
from tenure_dunning.config import SERVICE
from tenure_dunning.errors import InvalidPolicy
from tenure_dunning.models import DunningAttempt, DunningCase, DunningPolicy
from tenure_dunning.schedule import retry_times, validate_retry_after_days
from tenure_dunning.schemas import PolicyIn
from tenure_dunning.statuses import CaseStatus
from tenure_shared.due_work import cancel_job, schedule_job
from tenure_shared.events import DUNNING, DunningData, PaymentData
from tenure_shared.ids import new_id
from tenure_shared.internal_http import InternalClient, quote_id
from tenure_shared.outbox import add_event

RETRY = "dunning_retry"


def _retry_key(case_id: str) -> str:
    return f"{RETRY}:{case_id}"


async def update_policy(session: AsyncSession, *, data: PolicyIn) -> DunningPolicy:
    """Replace the retry policy; open cases keep the policy they started with."""
    try:
        validate_retry_after_days(data.retry_after_days)
    except ValueError as exc:
        raise InvalidPolicy(str(exc)) from exc
    policy = await repository.get_policy(session, for_update=True)
    policy.retry_after_days = list(data.retry_after_days)
    policy.final_action = data.final_action
    policy.notify_customer = data.notify_customer
    await session.flush()
    return policy


async def _announce(session: AsyncSession, case: DunningCase, verb: str, at: datetime) -> None:
    await add_event(
        session,
        source=SERVICE,
        topic=DUNNING,
        event_type=f"dunning.{verb}",
        customer_id=case.customer_id,
        data=DunningData(
            id=case.id,
            invoice_id=case.invoice_id,
            subscription_id=case.subscription_id,
            customer_id=case.customer_id,
            status=case.status,
            final_action=case.final_action,
            next_retry_at=case.next_retry_at,
            attempt_count=len(case.attempts),
            notify_customer=case.notify_customer,
            amount_due=case.amount_due,
            currency=case.currency,
        ),
        business_time=at,
        clock_id=case.clock_id,
    )


async def _schedule_next_retry(session: AsyncSession, case: DunningCase, at: datetime) -> None:
    retries_done = len(case.attempts) - 1  # the first attempt is the failure that opened the case
    case.next_retry_at = retry_times(case.first_failed_at, case.retry_after_days)[retries_done]
    await schedule_job(
        session,
        kind=RETRY,
        key=_retry_key(case.id),
        due_at=case.next_retry_at,
        clock_id=case.clock_id,
        payload={"case_id": case.id},
    )
    await _announce(session, case, "retry_scheduled", at)


async def open_case(session: AsyncSession, *, payment: PaymentData, clock_id: str | None) -> DunningCase | None:
    """A collection failed outside dunning: start retrying per the policy (once per invoice)."""
    if await repository.case_for_invoice(session, payment.invoice_id) is not None:
        return None
    policy = await repository.get_policy(session)
    case = DunningCase(
        id=new_id("dun"),
        invoice_id=payment.invoice_id,
        subscription_id=payment.subscription_id,
        customer_id=payment.customer_id,
        clock_id=clock_id,
        status=CaseStatus.RETRYING,
        retry_after_days=list(policy.retry_after_days),
        final_action=policy.final_action,
        notify_customer=policy.notify_customer,
        amount_due=payment.amount,
        currency=payment.currency,
        first_failed_at=payment.attempted_at,
    )
    case.attempts = [
        DunningAttempt(at=payment.attempted_at, outcome="failed", payment_id=payment.id, failure_code=payment.failure_code)
    ]
    session.add(case)
    await session.flush()
    await _announce(session, case, "started", payment.attempted_at)
    await _schedule_next_retry(session, case, payment.attempted_at)
    return case


async def retry(session: AsyncSession, *, case_id: str, at: datetime, internal: InternalClient) -> None:
    """A scheduled retry: ask invoicing to collect, then recover, schedule the next, or give up.

    Nothing is locked while invoicing is asked: the attempt's key (`{case}:{n}`) makes a repeat
    return the first payment, so the case is locked only afterwards, to record it once.
    """
    case = await repository.get_case(session, case_id)
    if case.status != CaseStatus.RETRYING:
        return
    attempt_number = len(case.attempts)
    payment = await internal.request(
        "invoicing",
        "POST",
        f"/internal/invoices/{quote_id(case.invoice_id)}/collect",
        json={"attempt_key": f"{case.id}:{attempt_number}", "initiated_by": "dunning"},
    )
    await session.refresh(case, with_for_update=True)
    if case.status != CaseStatus.RETRYING or len(case.attempts) != attempt_number:
        return  # closed meanwhile (paid or voided elsewhere), or this attempt is recorded already
    case.attempts.append(
        DunningAttempt(at=at, outcome=payment["status"], payment_id=payment["id"], failure_code=payment["failure_code"])
    )
    if payment["status"] == "succeeded":
        await _close(session, case, CaseStatus.RECOVERED, at)
    elif len(case.attempts) - 1 < len(case.retry_after_days):
        await _schedule_next_retry(session, case, at)
    else:
        await _close(session, case, CaseStatus.EXHAUSTED, at)


async def _close(session: AsyncSession, case: DunningCase, status: CaseStatus, at: datetime) -> None:
    case.move_to(status)
    case.next_retry_at = None
    case.closed_at = at
    await cancel_job(session, key=_retry_key(case.id))
    await session.flush()
    await _announce(session, case, status, at)


async def invoice_settled_elsewhere(session: AsyncSession, *, invoice_id: str, paid: bool, at: datetime) -> None:
    """The invoice was paid (e.g. through the API) or voided outside dunning: stop retrying."""
    case = await repository.case_for_invoice(session, invoice_id, for_update=True)
    if case is None or case.status != CaseStatus.RETRYING:
        return
    if paid:
        await _close(session, case, CaseStatus.RECOVERED, at)
    else:
        # Voided by a person: nothing is left to collect and no final action is owed.
        case.move_to(CaseStatus.CANCELLED)
        case.next_retry_at = None
        case.closed_at = at
        await cancel_job(session, key=_retry_key(case.id))
