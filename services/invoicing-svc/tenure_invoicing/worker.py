"""invoicing-svc's worker (python -m tenure_invoicing.worker)."""

import asyncio

from tenure_invoicing.config import CONSUMED_TOPICS, get_settings
from tenure_invoicing.handlers import HANDLERS
from tenure_invoicing.usage.rollup import publish_usage_rollups
from tenure_shared.worker import run_worker


def main() -> None:
    asyncio.run(
        run_worker(
            settings=get_settings(),
            handlers=HANDLERS,
            consumed_topics=CONSUMED_TOPICS,
            job_handlers={},
            extra_loops={"usage_rollup": publish_usage_rollups},
            extra_loop_seconds=1.0,
        )
    )


if __name__ == "__main__":
    main()
