"""dunning-svc's due work: scheduled payment retries."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_dunning import service
from tenure_dunning.config import get_settings
from tenure_shared.due_work import JobHandler, ScheduledJob
from tenure_shared.internal_http import internal_client


async def run_retry(session: AsyncSession, job: ScheduledJob) -> None:
    await service.retry(session, case_id=job.payload["case_id"], at=job.due_at, internal=internal_client(get_settings()))


JOB_HANDLERS: dict[str, JobHandler] = {service.RETRY: run_retry}
