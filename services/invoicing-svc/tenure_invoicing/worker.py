"""invoicing-svc's worker (python -m tenure_invoicing.worker)."""

import asyncio

from tenure_shared.worker import run_worker

from tenure_invoicing.config import CONSUMED_TOPICS, get_settings
from tenure_invoicing.handlers import HANDLERS


def main() -> None:
    asyncio.run(run_worker(settings=get_settings(), handlers=HANDLERS, consumed_topics=CONSUMED_TOPICS, job_handlers={}))


if __name__ == "__main__":
    main()
