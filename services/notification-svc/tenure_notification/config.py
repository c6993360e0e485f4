"""notification-svc settings and the topics it consumes."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from tenure_shared.events import TOPICS
from tenure_shared.settings import ServiceSettings

SERVICE = "notification"
# Every topic: any public event may be a webhook, some are emails too.
CONSUMED_TOPICS = TOPICS


class NotificationSettings(ServiceSettings):
    """The shared environment plus what only notification-svc reads."""

    smtp_url: str = Field(default="smtp://127.0.0.1:1025", validation_alias="SMTP_URL")
    email_from: str = Field(default="Tenure <billing@tenure.localhost>", validation_alias="TENURE_EMAIL_FROM")
    # Where the payment-failed email sends the customer to fix their card.
    portal_url: str = Field(default="http://127.0.0.1:8101/portal", validation_alias="TENURE_PORTAL_URL")
    # Refuse webhook URLs on private, loopback and link-local addresses unless this is on (dev, tests).
    webhooks_allow_private: bool = Field(default=False, validation_alias="TENURE_WEBHOOKS_ALLOW_PRIVATE")


@lru_cache(maxsize=1)
def get_settings() -> NotificationSettings:
    return NotificationSettings().model_copy(update={"service_name": SERVICE})
