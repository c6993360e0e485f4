"""Monthly recurring revenue of one subscription at one instant: pure, exact arithmetic (Fraction of minor units)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from tenure_shared.events import DiscountData

# A month is the unit: an interval's amount times these many intervals a month, before ÷ interval_count.
INTERVALS_PER_MONTH = {
    "month": Fraction(1),
    "year": Fraction(1, 12),
    "week": Fraction(52, 12),
    "day": Fraction(365, 12),
}
# Statuses whose subscriptions bring no recurring revenue (the contract's list; a free plan counts 0 too).
WITHOUT_MRR = frozenset({"trialing", "paused", "cancelled", "expired"})


def period_amount_after_discounts(recurring_amount: int, discounts: Sequence[DiscountData], currency: str) -> Fraction:
    """What one period costs less the running discounts: each percentage and fixed amount off the list
    amount, never below zero (a fixed amount in another currency does not apply)."""
    off = Fraction(0)
    for discount in discounts:
        if discount.percent_off is not None:
            off += Fraction(recurring_amount) * Fraction(Decimal(discount.percent_off)) / 100
        elif discount.amount_off is not None and (discount.currency is None or discount.currency == currency):
            off += discount.amount_off
    return max(Fraction(0), recurring_amount - off)


def monthly(period_amount: Fraction | int, interval: str, interval_count: int) -> Fraction:
    """A period's amount normalised to one month: year ÷ 12, week × 52 ÷ 12, day × 365 ÷ 12, then ÷ interval_count."""
    return Fraction(period_amount) * INTERVALS_PER_MONTH[interval] / interval_count


def subscription_mrr(
    *,
    status: str,
    on_free_plan: bool,
    recurring_amount: int,
    discounts: Sequence[DiscountData],
    currency: str,
    interval: str,
    interval_count: int,
) -> Fraction:
    if status in WITHOUT_MRR or on_free_plan:
        return Fraction(0)
    return monthly(period_amount_after_discounts(recurring_amount, discounts, currency), interval, interval_count)
