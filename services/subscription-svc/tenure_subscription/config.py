"""subscription-svc settings and the topics it consumes."""

from __future__ import annotations

from functools import lru_cache

from tenure_shared import settings
from tenure_shared.events import CREDITS, DUNNING, INVOICES
from tenure_shared.settings import ServiceSettings

SERVICE = "subscription"
# Dunning's final actions; credit-svc's notes and refunds (for the subscription timeline); voided
# invoices (their discount periods come back).
CONSUMED_TOPICS = (DUNNING, CREDITS, INVOICES)
# The test-clock coordinator steps every service (the one list lives in tenure_shared.settings).
SERVICES = settings.SERVICES


@lru_cache(maxsize=1)
def get_settings() -> ServiceSettings:
    return ServiceSettings().model_copy(update={"service_name": SERVICE})
