"""Which plan prices which usage, and which subscription owns a customer's untargeted events: pure
functions over the plan intervals invoicing keeps from subscription events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# A cancelled or expired subscription owns no usage from then on.
NOT_OWNING = frozenset({"cancelled", "expired"})
# Usage during a trial is not billed (the trial is free); paused and free-plan usage is, at the
# prices of the plan in force when it happened.
NOT_BILLED = NOT_OWNING | {"trialing"}


@dataclass(frozen=True)
class Interval:
    """The plan a subscription was on over [start, end) (end None: still)."""

    subscription_id: str
    start: datetime
    end: datetime | None
    status: str
    plan_code: str
    charges: tuple[dict[str, Any], ...]

    def charge_for(self, metric_code: str) -> dict[str, Any] | None:
        return next((c for c in self.charges if c["metric_code"] == metric_code), None)


@dataclass(frozen=True)
class Segment:
    """A stretch of time whose usage of one metric is priced with one charge."""

    start: datetime
    end: datetime
    plan_code: str
    charge: dict[str, Any]


def _clip(interval: Interval, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    lo = max(interval.start, start)
    hi = end if interval.end is None else min(interval.end, end)
    return (lo, hi) if lo < hi else None


def metrics_charged(intervals: Iterable[Interval]) -> list[str]:
    """Every metric any of the intervals charges, in first-seen order."""
    seen: dict[str, None] = {}
    for interval in intervals:
        for charge in interval.charges:
            seen.setdefault(charge["metric_code"], None)
    return list(seen)


def pricing_segments(intervals: Sequence[Interval], metric_code: str, start: datetime, end: datetime) -> list[Segment]:
    """The billable stretches of [start, end) for a metric, adjacent stretches at the same price merged."""
    segments: list[Segment] = []
    for interval in sorted(intervals, key=lambda i: i.start):
        charge = interval.charge_for(metric_code)
        clipped = _clip(interval, start, end)
        if charge is None or clipped is None or interval.status in NOT_BILLED:
            continue
        lo, hi = clipped
        last = segments[-1] if segments else None
        if last and last.end == lo and last.charge == charge and last.plan_code == interval.plan_code:
            segments[-1] = Segment(last.start, hi, last.plan_code, charge)
        else:
            segments.append(Segment(lo, hi, interval.plan_code, charge))
    return segments


def foreign_ranges(
    others: Sequence[Interval], metric_code: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Stretches of [start, end) where another subscription that ranks first owns the customer's
    events without a subscription_id for this metric (`others` are those subscriptions' intervals)."""
    ranges = []
    for interval in others:
        clipped = _clip(interval, start, end)
        if clipped and interval.status not in NOT_OWNING and interval.charge_for(metric_code) is not None:
            ranges.append(clipped)
    return sorted(ranges)
