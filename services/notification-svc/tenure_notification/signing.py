"""Standard Webhooks v1 signatures (the `standardwebhooks` library) and endpoint secrets."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret: `whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(*, message_id: str, timestamp: datetime, body: str, signing_secrets: Sequence[str]) -> dict[str, str]:
    """The three headers of a delivery. With several secrets (a rotation's overlap) every
    signature is sent, space-separated, so a receiver holding either secret verifies."""
    signature = " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in signing_secrets)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
    }
