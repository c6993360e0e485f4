"""Plan-change proration (charges.change_lines, the code a change runs): exact daily value, rounded
half-up once, the change day counts toward the new state."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure_subscription.calendar import calendar_days
from tenure_subscription.charges import Item, change_lines
from tenure_subscription.proration import prorate


class Proration(NamedTuple):
    credit: int
    charge: int
    net: int
    unused_days: int
    period_days: int


def change_proration(*, old_amount, new_amount, period_start, period_end, change_at, tz="UTC") -> Proration:
    """A plan change from one price to another, through change_lines."""
    lines = change_lines(
        [Item("subscription", "old", "Old", old_amount, 1)],
        [Item("subscription", "new", "New", new_amount, 1)],
        period_start=period_start,
        period_end=period_end,
        change_at=change_at,
        tz=tz,
    )
    credit = -sum(line.amount for line in lines if line.amount < 0)
    charge = sum(line.amount for line in lines if line.amount > 0)
    return Proration(
        credit, charge, charge - credit, calendar_days(change_at, period_end, tz), calendar_days(period_start, period_end, tz)
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_worked_example_basic_to_pro_mid_june():
    result = change_proration(
        old_amount=10000,
        new_amount=30000,
        period_start=utc(2026, 6, 1),
        period_end=utc(2026, 7, 1),
        change_at=utc(2026, 6, 16),
    )
    assert result == Proration(credit=5000, charge=15000, net=10000, unused_days=15, period_days=30)


def test_change_day_counts_toward_new_state_regardless_of_time_of_day():
    late = change_proration(
        old_amount=10000,
        new_amount=30000,
        period_start=utc(2026, 6, 1),
        period_end=utc(2026, 7, 1),
        change_at=utc(2026, 6, 16, 23, 59, 59),
    )
    assert late.unused_days == 15


def test_change_on_first_day_swaps_the_whole_period():
    result = change_proration(
        old_amount=10000,
        new_amount=30000,
        period_start=utc(2026, 6, 1),
        period_end=utc(2026, 7, 1),
        change_at=utc(2026, 6, 1),
    )
    assert (result.credit, result.charge, result.net, result.unused_days) == (10000, 30000, 20000, 30)


def test_downgrade_gives_negative_net():
    result = change_proration(
        old_amount=30000,
        new_amount=10000,
        period_start=utc(2026, 6, 1),
        period_end=utc(2026, 7, 1),
        change_at=utc(2026, 6, 16),
    )
    assert (result.credit, result.charge, result.net) == (15000, 5000, -10000)


def test_yearly_period_uses_365_and_366_days():
    y2026 = change_proration(
        old_amount=0,
        new_amount=100000,
        period_start=utc(2026, 1, 1),
        period_end=utc(2027, 1, 1),
        change_at=utc(2026, 12, 31),
    )
    assert (y2026.unused_days, y2026.period_days, y2026.charge) == (1, 365, 274)  # 273.97 -> 274
    y2028 = change_proration(
        old_amount=0,
        new_amount=100000,
        period_start=utc(2028, 1, 1),
        period_end=utc(2029, 1, 1),
        change_at=utc(2028, 12, 31),
    )
    assert (y2028.unused_days, y2028.period_days, y2028.charge) == (1, 366, 273)  # 273.22 -> 273


def test_new_york_change_falls_on_previous_local_day():
    # Period is June in New York local time; 2026-06-16T02:00Z is still June 15 there.
    kwargs = dict(
        old_amount=10000,
        new_amount=30000,
        period_start=utc(2026, 6, 1, 4),
        period_end=utc(2026, 7, 1, 4),
        change_at=utc(2026, 6, 16, 2),
    )
    ny = change_proration(**kwargs, tz="America/New_York")
    assert (ny.unused_days, ny.period_days) == (16, 30)
    assert (ny.credit, ny.charge, ny.net) == (5333, 16000, 10667)
    in_utc = change_proration(**kwargs)
    assert (in_utc.unused_days, in_utc.period_days) == (15, 30)


def test_change_outside_period_is_rejected():
    kwargs = dict(old_amount=1, new_amount=2, period_start=utc(2026, 6, 1), period_end=utc(2026, 7, 1))
    with pytest.raises(ValueError):
        change_proration(**kwargs, change_at=utc(2026, 7, 1))
    with pytest.raises(ValueError):
        change_proration(**kwargs, change_at=utc(2026, 5, 31, 23, 59))


def test_prorate_rounds_half_up_once():
    assert prorate(10000, 15, 30) == 5000
    assert prorate(1, 1, 2) == 1  # exactly half rounds up
    assert prorate(100, 1, 3) == 33
    assert prorate(200, 1, 3) == 67


def test_prorate_rejects_bad_day_counts():
    with pytest.raises(ValueError):
        prorate(100, 1, 0)
    with pytest.raises(ValueError):
        prorate(100, -1, 30)
    with pytest.raises(ValueError):
        prorate(100, 31, 30)


amounts = st.integers(min_value=0, max_value=10**9)
period_lengths = st.sampled_from([28, 29, 30, 31, 365, 366]) | st.integers(1, 400)


@given(amount=amounts, period_days=period_lengths, data=st.data())
def test_no_cent_created_or_lost_across_a_split_period(amount, period_days, data):
    cuts = sorted(data.draw(st.sets(st.integers(1, period_days - 1), max_size=10)) if period_days > 1 else [])
    edges = [0, *cuts, period_days]
    pieces = [prorate(amount, b - a, period_days) for a, b in pairwise(edges)]
    # Each piece is rounded once, so it is off by at most half a minor unit.
    assert 2 * abs(sum(pieces) - amount) <= len(pieces)


@given(amount=amounts, period_days=period_lengths, data=st.data())
def test_prorate_bounded_and_monotone_in_days(amount, period_days, data):
    d1 = data.draw(st.integers(0, period_days))
    d2 = data.draw(st.integers(d1, period_days))
    assert 0 <= prorate(amount, d1, period_days) <= prorate(amount, d2, period_days) <= amount
    assert prorate(amount, 0, period_days) == 0
    assert prorate(amount, period_days, period_days) == amount


@given(
    old=amounts,
    new=amounts,
    start_day=st.dates(min_value=datetime(2020, 1, 1).date(), max_value=datetime(2035, 1, 1).date()),
    months=st.sampled_from([1, 3, 12]),
    data=st.data(),
)
def test_credit_plus_net_equals_charge(old, new, start_day, months, data):
    start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC)
    end = start + timedelta(days={1: 30, 3: 91, 12: 365}[months])
    change_at = data.draw(
        st.datetimes(
            min_value=start.replace(tzinfo=None),
            max_value=(end - timedelta(microseconds=1)).replace(tzinfo=None),
        )
    ).replace(tzinfo=UTC)
    result = change_proration(old_amount=old, new_amount=new, period_start=start, period_end=end, change_at=change_at)
    assert result.credit + result.net == result.charge
    assert 1 <= result.unused_days <= result.period_days
    assert 0 <= result.credit <= old
    assert 0 <= result.charge <= new
