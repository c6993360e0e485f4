"""Dunning retry schedule: retry instants offset from the first failed payment attempt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

MAX_RETRIES = 10


def validate_retry_after_days(days: Sequence[int]) -> None:
    """Raise ValueError unless 1..10 positive integer day offsets, strictly increasing."""
    if not 1 <= len(days) <= MAX_RETRIES:
        raise ValueError(f"retry_after_days must have 1..{MAX_RETRIES} entries")
    previous = 0
    for day in days:
        # bool is an int subclass; True must not pass as "1 day".
        if isinstance(day, bool) or not isinstance(day, int):
            raise ValueError("retry_after_days entries must be integers")
        if day <= previous:
            raise ValueError("retry_after_days must be positive and strictly increasing")
        previous = day


def retry_times(first_failed_at: datetime, retry_after_days: Sequence[int]) -> list[datetime]:
    """Retry instants, each offset from the first failed attempt (not from the previous retry)."""
    validate_retry_after_days(retry_after_days)
    return [first_failed_at + timedelta(days=day) for day in retry_after_days]
