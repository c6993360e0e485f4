"""dunning-svc's public routes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from tenure_dunning import repository, service
from tenure_dunning.schemas import CaseOut, CaseStatusFilter, ListOut, PolicyIn, PolicyOut
from tenure_shared.app import DbSession
from tenure_shared.auth import require_admin
from tenure_shared.pagination import Page, page_params

router = APIRouter()


@router.get("/dunning-policy", tags=["dunning"])
async def get_policy(session: DbSession) -> PolicyOut:
    return PolicyOut.model_validate(await repository.get_policy(session))


@router.put("/dunning-policy", tags=["dunning"], dependencies=[Depends(require_admin)])
async def put_policy(body: PolicyIn, session: DbSession) -> PolicyOut:
    return PolicyOut.model_validate(await service.update_policy(session, data=body))


@router.get("/dunning-cases", tags=["dunning"])
async def list_cases(
    session: DbSession,
    customer_id: str | None = Query(None),
    invoice_id: str | None = Query(None),
    status: CaseStatusFilter = None,
    page: Page = Depends(page_params),
) -> ListOut[CaseOut]:
    rows, more = await repository.list_cases(session, page, customer_id=customer_id, invoice_id=invoice_id, status=status)
    return ListOut(data=[CaseOut.model_validate(c) for c in rows], has_more=more)


@router.get("/dunning-cases/{case_id}", tags=["dunning"])
async def get_case(case_id: str, session: DbSession) -> CaseOut:
    return CaseOut.model_validate(await repository.get_case(session, case_id))
