"""Credit for paid days a subscription spends paused, by calendar day in the account's timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from tenure_shared.money import round_half_up


@dataclass(frozen=True)
class PauseCredit:
    """Unused paid days of a period lost to a pause and the credit owed for them."""

    unused_days: int
    period_days: int
    amount: int


def pause_credit(
    *,
    period_amount: int,
    period_start: datetime,
    period_end: datetime,
    pause_at: datetime,
    resume_at: datetime | None,
    tz: str = "UTC",
) -> PauseCredit:
    """Credit for [pause day, min(resume day, period end)); resume_at None means paused past the end."""
    if period_amount < 0:
        raise ValueError("period_amount must not be negative")
    if pause_at < period_start:
        raise ValueError("pause_at must not be before period_start")
    if resume_at is not None and resume_at < pause_at:
        raise ValueError("resume_at must not be before pause_at")
    zone = ZoneInfo(tz)
    start_day = period_start.astimezone(zone).date()
    end_day = period_end.astimezone(zone).date()
    period_days = (end_day - start_day).days
    if period_days <= 0:
        raise ValueError("period must span at least one calendar day")
    pause_day = pause_at.astimezone(zone).date()
    # The resume day is a live day again, so it is not credited.
    stop_day = end_day if resume_at is None else min(resume_at.astimezone(zone).date(), end_day)
    unused_days = max(0, (stop_day - pause_day).days)
    amount = round_half_up(Fraction(period_amount) * unused_days / period_days)
    return PauseCredit(unused_days=unused_days, period_days=period_days, amount=amount)
