"""subscription-svc's worker (python -m tenure_subscription.worker)."""

import asyncio

from tenure_shared.internal_http import internal_client
from tenure_shared.worker import run_worker
from tenure_subscription.config import CONSUMED_TOPICS, get_settings
from tenure_subscription.handlers import HANDLERS
from tenure_subscription.jobs import JOB_HANDLERS
from tenure_subscription.service.test_clocks import ADVANCE_CHANNEL, ClockAdvancer


def main() -> None:
    settings = get_settings()
    clocks = ClockAdvancer(internal_client(settings))
    asyncio.run(
        run_worker(
            settings=settings,
            handlers=HANDLERS,
            consumed_topics=CONSUMED_TOPICS,
            job_handlers=JOB_HANDLERS,
            # Test clocks advance here (woken by the advance request), so an advance survives an API restart.
            extra_loops={ADVANCE_CHANNEL: clocks.advance_pending_clocks},
        )
    )


if __name__ == "__main__":
    main()
