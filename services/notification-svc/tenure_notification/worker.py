"""notification-svc's worker (python -m tenure_notification.worker)."""

import asyncio

from tenure_notification.config import CONSUMED_TOPICS, get_settings
from tenure_notification.handlers import HANDLERS
from tenure_notification.jobs import JOB_HANDLERS, deliver_due_webhooks
from tenure_notification.service import WEBHOOK_CHANNEL
from tenure_shared.worker import run_worker


def main() -> None:
    asyncio.run(
        run_worker(
            settings=get_settings(),
            handlers=HANDLERS,
            consumed_topics=CONSUMED_TOPICS,
            job_handlers=JOB_HANDLERS,
            extra_loops={WEBHOOK_CHANNEL: deliver_due_webhooks},
        )
    )


if __name__ == "__main__":
    main()
