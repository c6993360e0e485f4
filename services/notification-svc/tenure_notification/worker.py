"""notification-svc's worker (python -m tenure_notification.worker)."""

import asyncio

from tenure_notification.config import CONSUMED_TOPICS, get_settings
from tenure_notification.handlers import HANDLERS
from tenure_notification.jobs import JOB_HANDLERS
from tenure_shared.worker import run_worker


def main() -> None:
    asyncio.run(
        run_worker(settings=get_settings(), handlers=HANDLERS, consumed_topics=CONSUMED_TOPICS, job_handlers=JOB_HANDLERS)
    )


if __name__ == "__main__":
    main()
