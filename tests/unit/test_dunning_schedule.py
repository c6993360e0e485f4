"""Dunning retry schedule: offsets from the first failed attempt, validated."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure_dunning.schedule import retry_times, validate_retry_after_days


def test_offsets_are_from_first_failure():
    first = datetime(2026, 4, 1, tzinfo=UTC)
    assert retry_times(first, [1, 3, 5]) == [
        datetime(2026, 4, 2, tzinfo=UTC),
        datetime(2026, 4, 4, tzinfo=UTC),
        datetime(2026, 4, 6, tzinfo=UTC),
    ]


def test_offsets_cross_month_end_and_keep_time_of_day():
    first = datetime(2026, 2, 27, 13, 45, tzinfo=UTC)
    assert retry_times(first, [2, 7]) == [
        datetime(2026, 3, 1, 13, 45, tzinfo=UTC),
        datetime(2026, 3, 6, 13, 45, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    "days",
    [[], list(range(1, 12)), [0, 1], [-1, 2], [3, 3], [5, 3], [1, 2.5], [True, 2], ["1"]],
)
def test_invalid_schedules_are_rejected(days):
    with pytest.raises(ValueError):
        validate_retry_after_days(days)
    with pytest.raises(ValueError):
        retry_times(datetime(2026, 4, 1, tzinfo=UTC), days)


@pytest.mark.parametrize("days", [[1], [1, 3, 5], list(range(1, 11)), (2, 30)])
def test_valid_schedules_pass(days):
    validate_retry_after_days(days)


@given(
    first=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(lambda d: d.replace(tzinfo=UTC)),
    days=st.lists(st.integers(1, 365), min_size=1, max_size=10, unique=True).map(sorted),
)
def test_retry_times_increase_and_match_offsets(first, days):
    times = retry_times(first, days)
    assert [t - first for t in times] == [timedelta(days=d) for d in days]
    assert times == sorted(times) and len(set(times)) == len(times)
