"""Pause credit: unused paid days [pause day, min(resume day, period end)) at the exact daily value."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure_credit.credit import PauseCredit, pause_credit
from tenure_shared.money import round_half_up


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_pause_and_resume_within_period():
    result = pause_credit(
        period_amount=30000,
        period_start=utc(2026, 6, 1),
        period_end=utc(2026, 7, 1),
        pause_at=utc(2026, 6, 10),
        resume_at=utc(2026, 6, 15),
    )
    assert result == PauseCredit(unused_days=5, period_days=30, amount=5000)


def test_resume_after_period_end_is_capped_at_period_end():
    result = pause_credit(
        period_amount=30000,
        period_start=utc(2026, 6, 1),
        period_end=utc(2026, 7, 1),
        pause_at=utc(2026, 6, 15),
        resume_at=utc(2026, 7, 5),
    )
    assert result == PauseCredit(unused_days=16, period_days=30, amount=16000)


def test_yearly_pause_rounds_once_not_per_day():
    result = pause_credit(
        period_amount=350000,
        period_start=utc(2026, 1, 1),
        period_end=utc(2027, 1, 1),
        pause_at=utc(2026, 6, 1),
        resume_at=utc(2026, 7, 31),
    )
    assert result == PauseCredit(unused_days=60, period_days=365, amount=57534)
    # Rounding the daily rate first (350000/365 = 958.90 -> 959) would over-credit by 6 minor units.
    rounded_daily_rate_first = round_half_up(Fraction(350000, 365)) * 60
    assert rounded_daily_rate_first == 57540
    assert rounded_daily_rate_first != result.amount


def test_open_ended_pause_runs_to_period_end():
    result = pause_credit(
        period_amount=30000,
        period_start=utc(2026, 6, 1),
        period_end=utc(2026, 7, 1),
        pause_at=utc(2026, 6, 21),
        resume_at=None,
    )
    assert (result.unused_days, result.amount) == (10, 10000)


def test_pause_at_or_after_period_end_credits_nothing():
    result = pause_credit(
        period_amount=30000,
        period_start=utc(2026, 6, 1),
        period_end=utc(2026, 7, 1),
        pause_at=utc(2026, 7, 1),
        resume_at=utc(2026, 7, 10),
    )
    assert (result.unused_days, result.amount) == (0, 0)


def test_same_day_pause_and_resume_credits_nothing():
    result = pause_credit(
        period_amount=30000,
        period_start=utc(2026, 6, 1),
        period_end=utc(2026, 7, 1),
        pause_at=utc(2026, 6, 10, 1),
        resume_at=utc(2026, 6, 10, 23),
    )
    assert (result.unused_days, result.amount) == (0, 0)


def test_new_york_pause_falls_on_previous_local_day():
    # 2026-06-10T03:00Z is June 9 23:00 in New York: one more paused local day than in UTC.
    kwargs = dict(
        period_amount=30000,
        period_start=utc(2026, 6, 1, 4),
        period_end=utc(2026, 7, 1, 4),
        pause_at=utc(2026, 6, 10, 3),
        resume_at=utc(2026, 6, 15, 12),
    )
    assert pause_credit(**kwargs, tz="America/New_York") == PauseCredit(unused_days=6, period_days=30, amount=6000)
    assert pause_credit(**kwargs) == PauseCredit(unused_days=5, period_days=30, amount=5000)


def test_invalid_inputs():
    base = dict(period_amount=30000, period_start=utc(2026, 6, 1), period_end=utc(2026, 7, 1))
    with pytest.raises(ValueError):
        pause_credit(**base, pause_at=utc(2026, 5, 31), resume_at=utc(2026, 6, 5))
    with pytest.raises(ValueError):
        pause_credit(**base, pause_at=utc(2026, 6, 10), resume_at=utc(2026, 6, 5))
    with pytest.raises(ValueError):
        pause_credit(**{**base, "period_amount": -1}, pause_at=utc(2026, 6, 10), resume_at=utc(2026, 6, 15))


@given(
    period_amount=st.integers(0, 10**9),
    start_day=st.dates(min_value=datetime(2020, 1, 1).date(), max_value=datetime(2035, 1, 1).date()),
    period_days=st.sampled_from([28, 29, 30, 31, 365, 366]),
    pause_offset=st.integers(0, 400),
    pause_length=st.integers(0, 400),
    tz=st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo"]),
)
def test_pause_credit_bounded_and_zero_after_period(period_amount, start_day, period_days, pause_offset, pause_length, tz):
    start = datetime(start_day.year, start_day.month, start_day.day, 12, tzinfo=UTC)
    end = start + timedelta(days=period_days)
    pause_at = start + timedelta(days=pause_offset)
    resume_at = pause_at + timedelta(days=pause_length)
    result = pause_credit(
        period_amount=period_amount,
        period_start=start,
        period_end=end,
        pause_at=pause_at,
        resume_at=resume_at,
        tz=tz,
    )
    assert 0 <= result.amount <= period_amount
    assert 0 <= result.unused_days <= result.period_days == period_days
    assert result.unused_days <= pause_length
    if pause_at >= end:
        assert (result.unused_days, result.amount) == (0, 0)
    else:
        assert result.unused_days == min(pause_length, period_days - pause_offset)


@given(
    period_amount=st.integers(0, 10**9),
    period_days=st.sampled_from([28, 29, 30, 31, 365, 366]),
    cut=st.integers(0, 366),
    tz=st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo"]),
)
def test_complementary_pauses_add_up_to_the_period_price_within_one_rounding_each(period_amount, period_days, cut, tz):
    # Pausing [start, cut) and [cut, end) covers the whole period once: exact values sum to the
    # price, so the rounded credits never lose or create more than one minor unit per note.
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    end = start + timedelta(days=period_days)
    middle = start + timedelta(days=min(cut, period_days))
    first = pause_credit(period_amount=period_amount, period_start=start, period_end=end, pause_at=start, resume_at=middle, tz=tz)
    second = pause_credit(period_amount=period_amount, period_start=start, period_end=end, pause_at=middle, resume_at=None, tz=tz)
    assert first.unused_days + second.unused_days == period_days
    assert abs(first.amount + second.amount - period_amount) <= 1
    whole = pause_credit(period_amount=period_amount, period_start=start, period_end=end, pause_at=start, resume_at=None, tz=tz)
    assert whole.amount == period_amount


@given(
    period_amount=st.integers(1, 10**9),
    period_days=st.sampled_from([28, 29, 30, 31, 365, 366]),
    pause_offset=st.integers(0, 366),
    length=st.integers(0, 400),
)
def test_credit_is_the_exact_daily_value_rounded_once(period_amount, period_days, pause_offset, length):
    start = datetime(2028, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=period_days)
    pause_at = start + timedelta(days=pause_offset)
    result = pause_credit(
        period_amount=period_amount,
        period_start=start,
        period_end=end,
        pause_at=pause_at,
        resume_at=pause_at + timedelta(days=length),
    )
    assert result.amount == round_half_up(Fraction(period_amount * result.unused_days, period_days))
    # Never more than what was paid for the period, never more than the days paused are worth.
    assert result.amount <= period_amount
    assert abs(result.amount - Fraction(period_amount * result.unused_days, period_days)) <= Fraction(1, 2)
