"""MRR of one subscription: normalised to a month exactly, zero when it brings no recurring revenue."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure_health.mrr import WITHOUT_MRR, monthly, subscription_mrr

amounts = st.integers(min_value=0, max_value=10**9)
counts = st.integers(min_value=1, max_value=365)


@pytest.mark.parametrize(
    ("amount", "interval", "count", "expected"),
    [
        (120000, "year", 1, Fraction(10000)),
        (1200, "week", 1, Fraction(5200)),
        (100, "day", 1, Fraction(36500, 12)),
        (30000, "month", 3, Fraction(10000)),
        (100, "year", 1, Fraction(100, 12)),
    ],
)
def test_normalised_to_a_month(amount, interval, count, expected):
    assert monthly(amount, interval, count) == expected


@given(amounts, counts)
def test_twelve_months_of_a_yearly_plan_are_its_amount(amount, count):
    assert monthly(amount, "year", count) * 12 * count == amount


@given(amounts, counts)
def test_a_year_of_weeks_and_of_days(amount, count):
    assert monthly(amount, "week", count) * 12 * count == amount * 52
    assert monthly(amount, "day", count) * 12 * count == amount * 365


@given(amounts, counts, st.sampled_from(["day", "week", "month", "year"]))
def test_every_n_intervals_is_an_nth(amount, count, interval):
    assert monthly(amount, interval, count) * count == monthly(amount, interval, 1)


@given(amounts, st.sampled_from(sorted(WITHOUT_MRR)))
def test_no_recurring_revenue_without_a_paid_running_subscription(amount, status):
    common = {"period_amount": amount, "interval": "month", "interval_count": 1}
    assert subscription_mrr(status=status, on_free_plan=False, **common) == 0
    assert subscription_mrr(status="active", on_free_plan=True, **common) == 0
    assert subscription_mrr(status="active", on_free_plan=False, **common) == amount
