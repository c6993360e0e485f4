"""Billing calendar: anchored period boundaries, containing periods and calendar-day counts."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure_subscription.calendar import calendar_days, period_boundary, period_containing


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_n_zero_returns_anchor():
    anchor = utc(2026, 1, 31, 9, 30)
    assert period_boundary(anchor, "month", 1, 0) == anchor


def test_jan_31_anchor_monthly_chain_2026():
    anchor = utc(2026, 1, 31)
    boundaries = [period_boundary(anchor, "month", 1, n) for n in range(6)]
    assert boundaries == [
        utc(2026, 1, 31),
        utc(2026, 2, 28),
        utc(2026, 3, 31),
        utc(2026, 4, 30),
        utc(2026, 5, 31),
        utc(2026, 6, 30),
    ]


def test_jan_31_anchor_monthly_chain_leap_year_2028():
    anchor = utc(2028, 1, 31, 12)
    assert period_boundary(anchor, "month", 1, 1) == utc(2028, 2, 29, 12)
    assert period_boundary(anchor, "month", 1, 2) == utc(2028, 3, 31, 12)
    assert period_boundary(anchor, "month", 1, 3) == utc(2028, 4, 30, 12)


def test_boundaries_come_from_anchor_not_chained():
    anchor = utc(2026, 1, 31)
    # Chaining would give Feb 28 -> Mar 28; anchoring gives Mar 31.
    chained = period_boundary(period_boundary(anchor, "month", 1, 1), "month", 1, 1)
    assert chained == utc(2026, 3, 28)
    assert period_boundary(anchor, "month", 1, 2) == utc(2026, 3, 31)


def test_quarterly_interval_count():
    anchor = utc(2026, 11, 30)
    assert period_boundary(anchor, "month", 3, 1) == utc(2027, 2, 28)
    assert period_boundary(anchor, "month", 3, 2) == utc(2027, 5, 30)


def test_yearly_feb_29_anchor():
    anchor = utc(2028, 2, 29)
    assert period_boundary(anchor, "year", 1, 1) == utc(2029, 2, 28)
    assert period_boundary(anchor, "year", 1, 2) == utc(2030, 2, 28)
    assert period_boundary(anchor, "year", 1, 4) == utc(2032, 2, 29)


def test_day_and_week_intervals():
    anchor = utc(2026, 2, 27)
    assert period_boundary(anchor, "day", 1, 2) == utc(2026, 3, 1)
    assert period_boundary(anchor, "week", 2, 1) == utc(2026, 3, 13)


def test_month_end_anchor_in_new_york_keeps_local_midnight_across_dst():
    # Jan 31 00:00 EST is 05:00Z; Mar 31 00:00 EDT is 04:00Z.
    anchor = utc(2026, 1, 31, 5)
    tz = "America/New_York"
    assert period_boundary(anchor, "month", 1, 1, tz) == utc(2026, 2, 28, 5)
    assert period_boundary(anchor, "month", 1, 2, tz) == utc(2026, 3, 31, 4)
    assert period_boundary(anchor, "month", 1, 2, "UTC") == utc(2026, 3, 31, 5)


def test_boundaries_are_utc():
    anchor = utc(2026, 1, 31, 5)
    assert period_boundary(anchor, "month", 1, 1, "America/New_York").utcoffset() == timedelta(0)


def test_invalid_arguments():
    anchor = utc(2026, 1, 1)
    with pytest.raises(ValueError):
        period_boundary(anchor, "month", 0, 1)
    with pytest.raises(ValueError):
        period_boundary(anchor, "month", 1, -1)
    with pytest.raises(ValueError):
        period_boundary(datetime(2026, 1, 1), "month", 1, 1)
    with pytest.raises(ValueError):
        period_containing(anchor, "month", 1, utc(2025, 12, 31))


def test_period_containing_month_end():
    anchor = utc(2026, 1, 31)
    assert period_containing(anchor, "month", 1, utc(2026, 3, 15)) == (utc(2026, 2, 28), utc(2026, 3, 31))
    assert period_containing(anchor, "month", 1, utc(2026, 1, 31)) == (utc(2026, 1, 31), utc(2026, 2, 28))
    # A boundary instant belongs to the period it starts.
    assert period_containing(anchor, "month", 1, utc(2026, 3, 31)) == (utc(2026, 3, 31), utc(2026, 4, 30))
    assert period_containing(anchor, "month", 1, utc(2026, 3, 30, 23, 59, 59)) == (
        utc(2026, 2, 28),
        utc(2026, 3, 31),
    )


def test_period_containing_far_from_anchor():
    anchor = utc(2020, 2, 29)
    assert period_containing(anchor, "year", 1, utc(2031, 1, 1)) == (utc(2030, 2, 28), utc(2031, 2, 28))


def test_calendar_days():
    assert calendar_days(utc(2026, 6, 1), utc(2026, 7, 1)) == 30
    assert calendar_days(utc(2026, 1, 1), utc(2027, 1, 1)) == 365
    assert calendar_days(utc(2028, 1, 1), utc(2029, 1, 1)) == 366
    assert calendar_days(utc(2028, 2, 1), utc(2028, 3, 1)) == 29
    assert calendar_days(utc(2026, 6, 16, 23, 59), utc(2026, 7, 1)) == 15


def test_calendar_days_new_york_previous_local_day():
    # 2026-06-16T02:00Z is 2026-06-15 22:00 in New York, so the local day is the 15th.
    change = utc(2026, 6, 16, 2)
    end = utc(2026, 7, 1, 4)  # 2026-07-01 00:00 EDT
    assert calendar_days(change, end, "UTC") == 15
    assert calendar_days(change, end, "America/New_York") == 16


intervals = st.sampled_from(["day", "week", "month", "year"])
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2060, 1, 1)).map(lambda d: d.replace(tzinfo=UTC))
zones = st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney"])


@given(
    anchor=instants,
    interval=intervals,
    count=st.integers(1, 4),
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800)),
    tz=zones,
)
def test_period_containing_contains_and_is_consecutive(anchor, interval, count, offset, tz):
    at = anchor + offset
    start, end = period_containing(anchor, interval, count, at, tz)
    assert start <= at < end
    n = 0
    while period_boundary(anchor, interval, count, n, tz) < start:
        n += 1
    assert period_boundary(anchor, interval, count, n, tz) == start
    assert period_boundary(anchor, interval, count, n + 1, tz) == end


@given(anchor=instants, interval=intervals, count=st.integers(1, 3), n=st.integers(0, 60), tz=zones)
def test_boundaries_strictly_increase(anchor, interval, count, n, tz):
    assert period_boundary(anchor, interval, count, n, tz) < period_boundary(anchor, interval, count, n + 1, tz)


@given(day=st.integers(1, 31), n=st.integers(0, 120))
def test_monthly_boundary_day_is_anchor_day_or_month_end(day, n):
    anchor = utc(2026, 1, day)
    boundary = period_boundary(anchor, "month", 1, n)
    next_day = boundary + timedelta(days=1)
    assert boundary.day == day or (boundary.day < day and next_day.day == 1)
