"""The shape of the credentials subscription-svc issues. Pure: random, prefixed, hashed for storage.

- API keys: `tk_live_…` (TENURE_ENV=production) or `tk_test_…`; the first 12 characters are shown
  in lists so a key can be recognised without being revealed.
- Portal links `tk_link_…` (one use, 1 h) and portal session credentials `tk_sess_…`.

The prefixes also let the log processor (tenure_shared.logging) mask any credential it meets.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from tenure_shared.auth import KEY_SCOPES

VISIBLE_PREFIX_LENGTH = 12
RANDOM_BYTES = 32
PORTAL_LINK_LIFETIME = timedelta(hours=1)
PORTAL_SESSION_IDLE = timedelta(hours=1)
PORTAL_SESSION_MAX = timedelta(hours=12)
# `last_used_at` / a session's `last_seen_at` are written at most this often (not on every request).
LAST_USED_RESOLUTION = timedelta(minutes=1)


def new_api_key(*, live: bool) -> str:
    return ("tk_live_" if live else "tk_test_") + secrets.token_urlsafe(RANDOM_BYTES)


def visible_prefix(key: str) -> str:
    return key[:VISIBLE_PREFIX_LENGTH]


def new_portal_link_token() -> str:
    return "tk_link_" + secrets.token_urlsafe(RANDOM_BYTES)


def new_portal_session_credential() -> str:
    return "tk_sess_" + secrets.token_urlsafe(RANDOM_BYTES)


def normalised_scopes(scopes: Sequence[str]) -> list[str]:
    """Each scope once, in the canonical order."""
    return [scope for scope in KEY_SCOPES if scope in scopes]
