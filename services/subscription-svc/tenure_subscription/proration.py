"""The proration rule: a period's price × days / days in the period, exact, rounded half-up once."""

from __future__ import annotations

from fractions import Fraction

from tenure_shared.money import round_half_up


def prorate(amount: int, days: int, period_days: int) -> int:
    """amount x days / period_days in minor units, computed exactly and rounded half-up once."""
    if period_days <= 0:
        raise ValueError("period_days must be positive")
    if not 0 <= days <= period_days:
        raise ValueError("days must be within 0..period_days")
    return round_half_up(Fraction(amount) * days / period_days)
