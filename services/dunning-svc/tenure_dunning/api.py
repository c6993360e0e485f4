"""dunning-svc's public routes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from tenure_dunning import repository, service
from tenure_dunning.models import DunningCase, DunningPolicy
from tenure_dunning.schemas import AttemptOut, CaseOut, CaseStatusFilter, ListOut, PolicyIn, PolicyOut
from tenure_shared.app import DbSession
from tenure_shared.auth import require_admin
from tenure_shared.pagination import Page, page_params

router = APIRouter()


def policy_out(policy: DunningPolicy) -> PolicyOut:
    return PolicyOut(
        retry_after_days=policy.retry_after_days, final_action=policy.final_action, notify_customer=policy.notify_customer
    )


def case_out(case: DunningCase) -> CaseOut:
    return CaseOut(
        id=case.id,
        invoice_id=case.invoice_id,
        subscription_id=case.subscription_id,
        customer_id=case.customer_id,
        status=case.status,
        next_retry_at=case.next_retry_at,
        final_action=case.final_action,
        attempts=[
            AttemptOut(at=a.at, outcome=a.outcome, payment_id=a.payment_id, failure_code=a.failure_code) for a in case.attempts
        ],
    )


@router.get("/dunning-policy", tags=["dunning"])
async def get_policy(session: DbSession) -> PolicyOut:
    return policy_out(await repository.get_policy(session))


@router.put("/dunning-policy", tags=["dunning"], dependencies=[Depends(require_admin)])
async def put_policy(body: PolicyIn, session: DbSession) -> PolicyOut:
    return policy_out(await service.update_policy(session, data=body))


@router.get("/dunning-cases", tags=["dunning"])
async def list_cases(
    session: DbSession,
    customer_id: str | None = Query(None),
    invoice_id: str | None = Query(None),
    status: CaseStatusFilter = None,
    page: Page = Depends(page_params),
) -> ListOut[CaseOut]:
    rows, more = await repository.list_cases(session, page, customer_id=customer_id, invoice_id=invoice_id, status=status)
    return ListOut(data=[case_out(c) for c in rows], has_more=more)


@router.get("/dunning-cases/{case_id}", tags=["dunning"])
async def get_case(case_id: str, session: DbSession) -> CaseOut:
    return case_out(await repository.get_case(session, case_id))
