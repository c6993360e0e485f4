"""Mid-period plan change proration by calendar day in the account's timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from tenure_shared.money import round_half_up
from tenure_subscription.calendar import calendar_days


@dataclass(frozen=True)
class Proration:
    """Credit for the old price and charge for the new price over the unused days of a period."""

    credit: int
    charge: int
    net: int
    unused_days: int
    period_days: int


def prorate(amount: int, days: int, period_days: int) -> int:
    """amount x days / period_days in minor units, computed exactly and rounded half-up once."""
    if period_days <= 0:
        raise ValueError("period_days must be positive")
    if not 0 <= days <= period_days:
        raise ValueError("days must be within 0..period_days")
    return round_half_up(Fraction(amount) * days / period_days)


def change_proration(
    *,
    old_amount: int,
    new_amount: int,
    period_start: datetime,
    period_end: datetime,
    change_at: datetime,
    tz: str = "UTC",
) -> Proration:
    """Prorate a price change at change_at within [period_start, period_end)."""
    if not period_start <= change_at < period_end:
        raise ValueError("change_at must be within [period_start, period_end)")
    period_days = calendar_days(period_start, period_end, tz)
    # The day of the change belongs to the new state, so it is counted as unused on the old price.
    unused_days = calendar_days(change_at, period_end, tz)
    credit = prorate(old_amount, unused_days, period_days)
    charge = prorate(new_amount, unused_days, period_days)
    return Proration(
        credit=credit,
        charge=charge,
        net=charge - credit,
        unused_days=unused_days,
        period_days=period_days,
    )
