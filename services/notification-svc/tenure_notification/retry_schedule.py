"""When a failed webhook delivery or email is tried again (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# The contract's webhook schedule: the delay after the 1st, 2nd, … failed attempt.
WEBHOOK_RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
# An SMTP server that refuses or is away is tried again sooner: mail is not retried for days.
EMAIL_RETRY_DELAYS = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
# A receiver's Retry-After is honoured, but never past the longest step of the schedule.
MAX_RETRY_AFTER = WEBHOOK_RETRY_DELAYS[-1]


def webhook_retry_delay(failed_attempts: int, retry_after: timedelta | None = None) -> timedelta | None:
    """The wait before the next attempt after `failed_attempts` failures, or None when the
    schedule is used up. A Retry-After longer than the schedule's step is waited out."""
    if not 1 <= failed_attempts <= len(WEBHOOK_RETRY_DELAYS):
        return None
    delay = WEBHOOK_RETRY_DELAYS[failed_attempts - 1]
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def email_retry_delay(failed_attempts: int) -> timedelta | None:
    """The wait before the next try of an email after `failed_attempts` failures, or None: give up."""
    if not 1 <= failed_attempts <= len(EMAIL_RETRY_DELAYS):
        return None
    return EMAIL_RETRY_DELAYS[failed_attempts - 1]


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds, or an HTTP date) as a wait from `now`; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))
