"""Monthly recurring revenue of one subscription at one instant: pure, exact arithmetic (Fraction of minor units)."""

from __future__ import annotations

from fractions import Fraction

# A month is the unit: an interval's amount times these many intervals a month, before ÷ interval_count.
INTERVALS_PER_MONTH = {
    "month": Fraction(1),
    "year": Fraction(1, 12),
    "week": Fraction(52, 12),
    "day": Fraction(365, 12),
}
# Statuses whose subscriptions bring no recurring revenue (the contract's list; a free plan counts 0 too).
WITHOUT_MRR = frozenset({"trialing", "paused", "cancelled", "expired"})


def monthly(period_amount: Fraction | int, interval: str, interval_count: int) -> Fraction:
    """A period's amount normalised to one month: year ÷ 12, week × 52 ÷ 12, day × 365 ÷ 12, then ÷ interval_count."""
    return Fraction(period_amount) * INTERVALS_PER_MONTH[interval] / interval_count


def subscription_mrr(*, status: str, on_free_plan: bool, period_amount: int, interval: str, interval_count: int) -> Fraction:
    """`period_amount` is one period after discounts, as subscription-svc computes it (carried in its events)."""
    if status in WITHOUT_MRR or on_free_plan:
        return Fraction(0)
    return monthly(period_amount, interval, interval_count)
