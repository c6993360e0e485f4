"""credit-svc's due work: settling refunds a crash left pending."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_credit import service
from tenure_credit.config import get_settings
from tenure_shared.due_work import JobHandler, ScheduledJob
from tenure_shared.internal_http import internal_client


async def run_settle_refund(session: AsyncSession, job: ScheduledJob) -> None:
    await service.settle_pending_refund(session, refund_id=job.payload["refund_id"], internal=internal_client(get_settings()))


JOB_HANDLERS: dict[str, JobHandler] = {service.SETTLE_REFUND: run_settle_refund}
