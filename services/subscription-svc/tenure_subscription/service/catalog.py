"""Plans: create, archive."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_subscription import repository
from tenure_subscription.errors import PlanAlreadyExists
from tenure_subscription.models import Plan
from tenure_subscription.schemas import PlanIn
from tenure_subscription.service.metrics import check_plan_metrics


async def create_plan(session: AsyncSession, *, data: PlanIn) -> Plan:
    """Add a plan to the catalog; a plan with amount 0 is a free plan."""
    if await session.get(Plan, data.code) is not None:
        raise PlanAlreadyExists(f"A plan with code {data.code!r} exists already.")
    await check_plan_metrics(session, data=data)
    plan = Plan(
        code=data.code,
        name=data.name,
        currency=data.currency,
        amount=data.amount,
        interval=data.interval,
        interval_count=data.interval_count,
        trial_days=data.trial_days,
        features=data.features,
        metered_charges=[m.model_dump() for m in data.metered_charges],
        archived=False,
    )
    session.add(plan)
    await session.flush()
    return plan


async def archive_plan(session: AsyncSession, *, code: str) -> Plan:
    """Archived plans take no new subscriptions; existing ones keep them."""
    plan = await repository.get_plan(session, code)
    plan.archived = True
    await session.flush()
    return plan
