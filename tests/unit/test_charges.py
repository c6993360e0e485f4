"""Subscription item charges: whole periods, changes within a period, settlement of a negative net."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from tenure_shared.events import ChargeLine
from tenure_subscription.calendar import calendar_days, period_boundary
from tenure_subscription.charges import Item, change_lines, figures, period_lines, remaining_value, settle
from tenure_subscription.proration import prorate


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def plan(amount: int, quantity: int = 1, code: str = "basic") -> Item:
    return Item(kind="subscription", code=code, name=code.title(), unit_amount=amount, quantity=quantity)


def addon(amount: int, quantity: int = 1, code: str = "seats") -> Item:
    return Item(kind="addon", code=code, name=code.title(), unit_amount=amount, quantity=quantity)


JUNE = dict(period_start=utc(2026, 6, 1), period_end=utc(2026, 7, 1))


def test_scenario_7_basic_to_pro_on_june_16():
    lines = change_lines([plan(10000)], [plan(30000, code="pro")], change_at=utc(2026, 6, 16), **JUNE)
    assert [(line.kind, line.amount, line.description) for line in lines] == [
        ("proration", -5000, "Unused Basic (15/30 days)"),
        ("proration", 15000, "Pro (15/30 days)"),
    ]
    assert figures(lines) == (5000, 15000, 10000)
    assert settle(lines).invoiced == lines and settle(lines).credit == 0


def test_downgrade_invoices_the_charge_and_credits_the_unused_old_plan():
    lines = change_lines([plan(30000, code="pro")], [plan(10000)], change_at=utc(2026, 6, 16), **JUNE)
    settlement = settle(lines)
    assert [line.amount for line in settlement.invoiced] == [5000]
    assert settlement.credit == 15000


def test_quantity_change_credits_old_quantity_and_charges_new():
    lines = change_lines([plan(1000, 3)], [plan(1000, 5)], change_at=utc(2026, 6, 21), **JUNE)
    assert [(line.amount, line.description) for line in lines] == [
        (-1000, "Unused Basic × 3 (10/30 days)"),
        (1667, "Basic × 5 (10/30 days)"),
    ]


def test_unchanged_items_make_no_lines_and_added_addon_only_charges():
    same = [plan(10000), addon(500, 2)]
    assert change_lines(same, same, change_at=utc(2026, 6, 10), **JUNE) == []
    lines = change_lines([plan(10000)], [plan(10000), addon(600, 2)], change_at=utc(2026, 6, 16), **JUNE)
    assert [(line.amount, line.description) for line in lines] == [(600, "Seats × 2 (15/30 days)")]


def test_period_lines_skip_free_items_and_keep_quantities():
    lines = period_lines([plan(0, code="free"), addon(250, 4)], start=utc(2026, 6, 1), end=utc(2026, 7, 1))
    assert [(line.kind, line.quantity, line.unit_amount, line.amount) for line in lines] == [("addon", 4, 250, 1000)]


def test_remaining_value_of_a_leap_year():
    value = remaining_value([plan(366000)], period_start=utc(2028, 1, 1), period_end=utc(2029, 1, 1), at=utc(2028, 12, 31, 18))
    assert value == 1000


items = st.lists(
    st.builds(
        Item,
        kind=st.sampled_from(["subscription", "addon"]),
        code=st.sampled_from(["a", "b", "c", "d"]),
        name=st.just("x"),
        unit_amount=st.integers(0, 10**7),
        quantity=st.integers(1, 50),
    ),
    max_size=4,
    unique_by=lambda i: (i.kind, i.code),
)
anchors = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC))


intervals = st.sampled_from(["day", "week", "month", "year"])


@given(old=items, new=items, anchor=anchors, interval=intervals, offset=st.floats(0, 0.9999))
def test_change_lines_credit_plus_net_is_charge_and_each_line_is_exact_within_half_a_unit(old, new, anchor, interval, offset):
    start, end = anchor, period_boundary(anchor, interval, 1, 1)
    change_at = start + (end - start) * offset
    lines = change_lines(old, new, period_start=start, period_end=end, change_at=change_at)
    credit, charge, net = figures(lines)
    assert credit + net == charge
    assert net == sum(line.amount for line in lines)
    period_days, unused = calendar_days(start, end), calendar_days(change_at, end)
    changed_old = sum(i.amount for i in old if i not in new)
    changed_new = sum(i.amount for i in new if i not in old)
    # Each changed item's line is rounded once (and left out when it rounds to zero), so the total is
    # within half a minor unit per changed item of the exact value.
    exact = (changed_new - changed_old) * unused / period_days
    changed_items = sum(i not in new for i in old) + sum(i not in old for i in new)
    assert abs(net - exact) <= 0.5 * changed_items + 1e-6


@given(amounts=st.lists(st.integers(-(10**7), 10**7).filter(bool), max_size=6))
def test_settlement_never_invoices_a_negative_total_and_loses_no_cent(amounts):
    lines = [ChargeLine(kind="proration", description="x", unit_amount=a, amount=a) for a in amounts]
    settlement = settle(lines)
    invoiced = sum(line.amount for line in settlement.invoiced)
    assert invoiced >= 0 and settlement.credit >= 0
    assert invoiced - settlement.credit == sum(amounts)


@given(
    amount=st.integers(0, 10**9),
    anchor=anchors,
    interval=st.sampled_from(["month", "year"]),
    cuts=st.lists(st.integers(1, 364), max_size=8, unique=True),
)
def test_any_split_of_a_period_into_days_sums_to_the_price_within_one_unit_per_split(amount, anchor, interval, cuts):
    start, end = anchor, period_boundary(anchor, interval, 1, 1)
    period_days = calendar_days(start, end)
    days = sorted({0, period_days, *(c for c in cuts if c < period_days)})
    parts = [prorate(amount, b - a, period_days) for a, b in pairwise(days)]
    assert abs(sum(parts) - amount) <= max(len(parts) - 1, 0)


@given(items=items, anchor=anchors, day=st.integers(0, 27))
def test_remaining_value_from_the_first_day_is_the_whole_period(items, anchor, day):
    start, end = anchor, period_boundary(anchor, "month", 1, 1)
    assert remaining_value(items, period_start=start, period_end=end, at=start) == sum(i.amount for i in items)
    at = start + timedelta(days=day)
    assert 0 <= remaining_value(items, period_start=start, period_end=end, at=at) <= sum(i.amount for i in items)
