"""subscription-svc's due work: trial ends and renewals."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from tenure_shared.due_work import JobHandler, ScheduledJob

from tenure_subscription.service import lifecycle


async def run_renewal(session: AsyncSession, job: ScheduledJob) -> None:
    await lifecycle.renew(session, subscription_id=job.payload["subscription_id"], due_at=job.due_at)


async def run_trial_end(session: AsyncSession, job: ScheduledJob) -> None:
    await lifecycle.end_trial(session, subscription_id=job.payload["subscription_id"], at=job.due_at)


JOB_HANDLERS: dict[str, JobHandler] = {
    lifecycle.RENEWAL: run_renewal,
    lifecycle.TRIAL_END: run_trial_end,
}
