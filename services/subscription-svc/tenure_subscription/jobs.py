"""subscription-svc's due work: trial ends, renewals, scheduled pauses and resumes, reminders, quote expiry.

Renewals and trial ends call no peer service, so a batch of them shares a transaction (`BatchableJob`):
a billing day's renewals due at one instant run a hundred to a transaction. Pauses and resumes ask
credit-svc for a credit preview and run one per transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.due_work import BatchableJob, JobHandler, ScheduledJob
from tenure_subscription.service import lifecycle, pausing, quotes, reminders


async def run_renewal(session: AsyncSession, job: ScheduledJob) -> None:
    await lifecycle.renew(session, subscription_id=job.payload["subscription_id"], due_at=job.due_at)


async def run_trial_end(session: AsyncSession, job: ScheduledJob) -> None:
    await lifecycle.end_trial(session, subscription_id=job.payload["subscription_id"], at=job.due_at)


async def run_pause_start(session: AsyncSession, job: ScheduledJob) -> None:
    await pausing.start_scheduled_pause(session, subscription_id=job.payload["subscription_id"], due_at=job.due_at)


async def run_scheduled_resume(session: AsyncSession, job: ScheduledJob) -> None:
    await pausing.run_scheduled_resume(session, subscription_id=job.payload["subscription_id"], due_at=job.due_at)


JOB_HANDLERS: dict[str, JobHandler] = {
    lifecycle.RENEWAL: BatchableJob(run_renewal),
    lifecycle.TRIAL_END: BatchableJob(run_trial_end),
    pausing.PAUSE_START: run_pause_start,
    pausing.RESUME: run_scheduled_resume,
    reminders.RENEWAL_REMINDER: reminders.send_renewal_reminder,
    reminders.TRIAL_REMINDER: reminders.send_trial_reminder,
    quotes.QUOTE_EXPIRY: quotes.expire_quote,
}
