"""credit-svc settings and the topics it consumes."""

from __future__ import annotations

from functools import lru_cache

from tenure_shared.events import INVOICES, SUBSCRIPTIONS
from tenure_shared.settings import ServiceSettings

SERVICE = "credit"
# Subscription events carry the credits owed; invoice.voided gives spent credits back.
CONSUMED_TOPICS: tuple[str, ...] = (SUBSCRIPTIONS, INVOICES)


@lru_cache(maxsize=1)
def get_settings() -> ServiceSettings:
    return ServiceSettings().model_copy(update={"service_name": SERVICE})
