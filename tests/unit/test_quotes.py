"""Quote arithmetic: figures, the approval threshold and discounts carried into the next period."""

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tenure_shared.events import ChargeLine
from tenure_subscription.discounts import DiscountTerms
from tenure_subscription.quotes import QuoteFigures, after_uses, discounted_total, expiry, figures, needs_approval

START, END, NEXT = datetime(2027, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC)


def plan_line(amount: int, start=START, end=END) -> ChargeLine:
    return ChargeLine(
        kind="subscription",
        description="Pro",
        unit_amount=amount,
        amount=amount,
        period_start=start,
        period_end=end,
        item_kind="subscription",
        item_code="pro",
    )


def test_figures_of_an_upsell_with_a_coupon():
    lines, _ = discounted_total(
        [plan_line(240000)], [DiscountTerms(id="d1", label="10%", starts_at=START, percent_off=Decimal(10))]
    )
    assert figures(lines) == QuoteFigures(subtotal=240000, discount=24000, total=216000)


def test_approval_is_needed_only_above_the_limit():
    assert not needs_approval(QuoteFigures(100000, 20000, 80000), 20)  # exactly 20 %: not more than the limit
    assert needs_approval(QuoteFigures(100000, 20001, 79999), 20)
    assert not needs_approval(QuoteFigures(100000, 90000, 10000), None)
    assert not needs_approval(QuoteFigures(100000, 0, 100000), 0)


def test_a_once_coupon_covers_the_first_period_only():
    once = DiscountTerms(id="d1", label="once", starts_at=START, amount_off=5000, periods_limit=1)
    first, uses = discounted_total([plan_line(240000)], [once])
    following, _ = discounted_total([plan_line(240000, END, NEXT)], after_uses([once], uses))
    assert (figures(first).total, figures(following).total) == (235000, 240000)


def test_a_quote_is_valid_30_days_unless_told():
    finalized = datetime(2026, 12, 10, tzinfo=UTC)
    assert expiry(finalized, None) == datetime(2027, 1, 9, tzinfo=UTC)
    assert expiry(finalized, END) == END


@given(
    amounts=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=5),
    percent=st.decimals(min_value=0, max_value=100, places=2),
    fixed=st.integers(min_value=1, max_value=10**9),
)
def test_total_is_the_sum_of_the_lines_and_never_negative(amounts, percent, fixed):
    terms = [
        DiscountTerms(id="d1", label="fixed", starts_at=START, amount_off=fixed),
        DiscountTerms(id="d2", label="percent", starts_at=START, percent_off=percent),
    ]
    lines, _ = discounted_total([plan_line(a) for a in amounts], terms)
    quote = figures(lines)
    assert quote.total == sum(line.amount for line in lines)
    assert 0 <= quote.total <= quote.subtotal and quote.discount >= 0


@given(subtotal=st.integers(min_value=1, max_value=10**9), limit=st.integers(min_value=0, max_value=100), data=st.data())
def test_approval_is_monotone_in_the_discount(subtotal, limit, data):
    low = data.draw(st.integers(min_value=0, max_value=subtotal))
    high = data.draw(st.integers(min_value=low, max_value=subtotal))
    if needs_approval(QuoteFigures(subtotal, low, subtotal - low), limit):
        assert needs_approval(QuoteFigures(subtotal, high, subtotal - high), limit)
