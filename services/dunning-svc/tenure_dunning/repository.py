"""All of dunning-svc's queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_dunning.errors import DunningCaseNotFound
from tenure_dunning.models import DunningCase, DunningPolicy
from tenure_shared.pagination import Page, paginate

DEFAULT_POLICY = dict(retry_after_days=[1, 3, 5], final_action="move_to_free_plan", notify_customer=True)


async def get_policy(session: AsyncSession, *, for_update: bool = False) -> DunningPolicy:
    policy = await session.get(DunningPolicy, 1, with_for_update=for_update)
    if policy is None:
        policy = DunningPolicy(id=1, **DEFAULT_POLICY)
        session.add(policy)
        await session.flush()
    return policy


async def get_case(session: AsyncSession, case_id: str, *, for_update: bool = False) -> DunningCase:
    case = await session.get(DunningCase, case_id, with_for_update=for_update)
    if case is None:
        raise DunningCaseNotFound(f"No dunning case {case_id}.")
    return case


async def case_for_invoice(session: AsyncSession, invoice_id: str, *, for_update: bool = False) -> DunningCase | None:
    statement = select(DunningCase).where(DunningCase.invoice_id == invoice_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def list_cases(
    session: AsyncSession, page: Page, *, customer_id: str | None, invoice_id: str | None, status: str | None
) -> tuple[list[DunningCase], bool]:
    filters = {DunningCase.customer_id: customer_id, DunningCase.invoice_id: invoice_id, DunningCase.status: status}
    return await paginate(session, select(DunningCase), DunningCase.id, page, filters=filters)
