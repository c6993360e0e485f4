"""Billing calendar: period boundaries from a billing anchor and calendar-day counts in a timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

Interval = Literal["day", "week", "month", "year"]

# Rough interval lengths, only used to guess which period an instant falls in before stepping exactly.
_APPROX_LENGTH = {
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=365.2425 / 12),
    "year": timedelta(days=365.2425),
}


def _require_aware(value: datetime, name: str) -> None:
    """Reject naive datetimes, whose instant is ambiguous."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _step(interval: Interval, count: int) -> relativedelta:
    """The calendar offset of `count` intervals."""
    if interval == "day":
        return relativedelta(days=count)
    if interval == "week":
        return relativedelta(weeks=count)
    if interval == "month":
        return relativedelta(months=count)
    if interval == "year":
        return relativedelta(years=count)
    raise ValueError(f"unknown interval {interval!r}")


def period_boundary(anchor: datetime, interval: Interval, interval_count: int, n: int, tz: str = "UTC") -> datetime:
    """The n-th period boundary after the billing anchor, as a UTC instant (n=0 is the anchor)."""
    _require_aware(anchor, "anchor")
    if interval_count < 1:
        raise ValueError("interval_count must be >= 1")
    if n < 0:
        raise ValueError("n must be >= 0")
    # Always offset from the anchor itself (never chain) so a Jan 31 anchor gives Feb 28 then Mar 31,
    # and offset wall-clock local time so boundaries stay on the same local time across DST.
    local = anchor.astimezone(ZoneInfo(tz))
    return (local + _step(interval, n * interval_count)).astimezone(UTC)


def period_containing(
    anchor: datetime, interval: Interval, interval_count: int, at: datetime, tz: str = "UTC"
) -> tuple[datetime, datetime]:
    """The [start, end) period, with boundaries counted from the anchor, that contains `at`."""
    _require_aware(at, "at")
    _require_aware(anchor, "anchor")
    if at < anchor:
        raise ValueError("at must not be before the anchor")
    if interval_count < 1:
        raise ValueError("interval_count must be >= 1")
    n = max(0, int((at - anchor) / (_APPROX_LENGTH[interval] * interval_count)))
    while n > 0 and period_boundary(anchor, interval, interval_count, n, tz) > at:
        n -= 1
    while period_boundary(anchor, interval, interval_count, n + 1, tz) <= at:
        n += 1
    return (
        period_boundary(anchor, interval, interval_count, n, tz),
        period_boundary(anchor, interval, interval_count, n + 1, tz),
    )


def calendar_days(start: datetime, end: datetime, tz: str = "UTC") -> int:
    """Calendar days in [start, end) counted in tz: local date of end minus local date of start."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    zone = ZoneInfo(tz)
    return (end.astimezone(zone).date() - start.astimezone(zone).date()).days
