"""The webhook and email retry schedules and Retry-After parsing (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tenure_notification.retry_schedule import (
    EMAIL_RETRY_DELAYS,
    email_retry_delay,
    parse_retry_after,
    webhook_retry_delay,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_the_contract_schedule_then_nothing():
    delays = [webhook_retry_delay(n) for n in range(1, 11)]
    assert delays == [
        timedelta(seconds=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=5),
        timedelta(hours=10),
        timedelta(hours=14),
        timedelta(hours=20),
        timedelta(hours=24),
        None,  # ten attempts in all: the delivery fails
    ]
    assert webhook_retry_delay(0) is None


def test_retry_after_is_honoured_when_longer_and_capped_at_the_longest_step():
    assert webhook_retry_delay(1, timedelta(seconds=7)) == timedelta(seconds=7)
    assert webhook_retry_delay(1, timedelta(seconds=2)) == timedelta(seconds=5)  # never sooner than the schedule
    assert webhook_retry_delay(2, timedelta(days=30)) == timedelta(hours=24)
    assert webhook_retry_delay(10, timedelta(seconds=1)) is None  # Retry-After does not extend the schedule


@given(st.integers(min_value=1, max_value=9), st.integers(min_value=0, max_value=10**7))
def test_retry_after_never_shortens_the_wait(failed, seconds):
    delay = webhook_retry_delay(failed, timedelta(seconds=seconds))
    assert webhook_retry_delay(failed) <= delay <= timedelta(hours=24)


def test_parse_retry_after():
    assert parse_retry_after("120", NOW) == timedelta(seconds=120)
    assert parse_retry_after(" 3 ", NOW) == timedelta(seconds=3)
    assert parse_retry_after("Sun, 01 Mar 2026 12:01:30 GMT", NOW) == timedelta(seconds=90)
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", NOW) == timedelta(0)  # in the past: at once
    assert parse_retry_after(None, NOW) is None
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("-5", NOW) is None


def test_emails_are_retried_on_their_own_shorter_schedule():
    assert [email_retry_delay(n) for n in range(1, len(EMAIL_RETRY_DELAYS) + 2)] == [*EMAIL_RETRY_DELAYS, None]
    assert sorted(EMAIL_RETRY_DELAYS) == list(EMAIL_RETRY_DELAYS)
