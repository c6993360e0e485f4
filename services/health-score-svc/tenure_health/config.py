"""health-score-svc settings and the topics it consumes."""

from __future__ import annotations

from functools import lru_cache

from tenure_shared.events import DUNNING, INVOICES, PAYMENTS, QUOTES, SUBSCRIPTIONS, USAGE
from tenure_shared.settings import ServiceSettings

SERVICE = "health-score"
CONSUMED_TOPICS: tuple[str, ...] = (SUBSCRIPTIONS, INVOICES, PAYMENTS, DUNNING, USAGE, QUOTES)


@lru_cache(maxsize=1)
def get_settings() -> ServiceSettings:
    return ServiceSettings().model_copy(update={"service_name": SERVICE})
