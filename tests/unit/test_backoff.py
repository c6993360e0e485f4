"""Back-off schedules and failure classes (tenure_shared.failures)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError

from tenure_shared.errors import TenureError
from tenure_shared.failures import consumer_retry_delay, is_transient, job_retry_delay
from tenure_shared.internal_http import DependencyUnavailable, PeerRefused


def test_job_back_off_follows_the_schedule_and_is_capped_at_an_hour():
    assert [job_retry_delay(n) for n in range(1, 10)] == [
        timedelta(seconds=10),
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=5),
        timedelta(minutes=10),
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


def test_consumer_back_off_doubles_from_one_second_up_to_five_minutes():
    assert [consumer_retry_delay(n) for n in range(1, 11)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]


@given(st.integers(min_value=1, max_value=10_000))
def test_back_offs_never_shrink_and_stay_capped(n):
    assert job_retry_delay(n) <= job_retry_delay(n + 1) <= timedelta(hours=1)
    assert consumer_retry_delay(n) <= consumer_retry_delay(n + 1) <= 300


class _AsyncpgLike(Exception):
    def __init__(self, sqlstate: str):
        super().__init__("terminating connection due to administrator command")
        self.sqlstate = sqlstate


def _wrapped(cause: Exception) -> Exception:
    outer = RuntimeError("(sqlalchemy.dialects.postgresql.asyncpg.Error)")
    outer.__cause__ = cause
    return outer


def test_failure_classes():
    assert is_transient(DependencyUnavailable("credit did not answer"))
    assert is_transient(TimeoutError())
    assert is_transient(ConnectionRefusedError())
    assert is_transient(OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    assert is_transient(asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"))
    assert is_transient(asyncpg.InterfaceError("connection is closed"))
    assert is_transient(_wrapped(_AsyncpgLike("57P01")))  # admin shutdown, through SQLAlchemy's wrapper
    assert is_transient(_wrapped(Exception('database "tenure_credit" is not currently accepting connections')))
    assert not is_transient(PeerRefused("No such customer.", service="subscription", code="customer_not_found", status=404))
    assert not is_transient(TenureError("Amount must not be negative.", code="negative_amount"))
    assert not is_transient(_wrapped(_AsyncpgLike("23505")))  # a unique violation is a bug, not an outage
    assert not is_transient(KeyError("kind"))
