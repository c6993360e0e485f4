"""health-score-svc's worker (python -m tenure_health.worker)."""

import asyncio

from tenure_health.config import CONSUMED_TOPICS, get_settings
from tenure_shared.worker import run_worker


def main() -> None:
    asyncio.run(run_worker(settings=get_settings(), handlers={}, consumed_topics=CONSUMED_TOPICS, job_handlers={}))


if __name__ == "__main__":
    main()
