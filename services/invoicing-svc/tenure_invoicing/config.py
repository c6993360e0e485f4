"""invoicing-svc settings and the topics it consumes."""

from __future__ import annotations

from functools import lru_cache

from tenure_shared.events import CREDITS, DUNNING, SUBSCRIPTIONS
from tenure_shared.settings import ServiceSettings

SERVICE = "invoicing"
CONSUMED_TOPICS = (SUBSCRIPTIONS, DUNNING, CREDITS)  # credits: what is left on each note (service._may_spend_credits)


@lru_cache(maxsize=1)
def get_settings() -> ServiceSettings:
    return ServiceSettings().model_copy(update={"service_name": SERVICE})
