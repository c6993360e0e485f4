"""Failure classes and back-off, shared by the event consumer and the due-work runner.

A *transient* failure (a peer or the database away, a timeout) says nothing about the work itself:
the work waits and is tried again later, for as long as it takes. Anything else is *deterministic*
(a peer's 4xx refusal, the handler's own business error, a bug): it gets a bounded number of
attempts and is then parked (a dead letter, a failed job) for someone to look at.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from tenure_shared.internal_http import DependencyUnavailable

# DependencyUnavailable is a ConnectionError, hence an OSError; so is TimeoutError. The asyncpg
# classes matter where raw asyncpg is used (SQLAlchemy wraps them in its own).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    DependencyUnavailable,
    OSError,
    OperationalError,
    InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
)
# SQLSTATE classes a retry can get past: connection exceptions, insufficient resources (too many
# connections), operator intervention (admin shutdown, cannot connect now), serialization failure, deadlock.
TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57P", "40001", "40P01")
# PostgreSQL's answer to a connection while the database refuses them (ALLOW_CONNECTIONS false).
_NOT_ACCEPTING_CONNECTIONS = "is not currently accepting connections"


def is_transient(exc: BaseException) -> bool:
    """True when trying the same work again later may succeed without anyone changing anything."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TRANSIENT_ERRORS):
            return True
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        sqlstate = getattr(seen, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(TRANSIENT_SQLSTATE_PREFIXES):
            return True
        if _NOT_ACCEPTING_CONNECTIONS in str(seen):
            return True
        seen = seen.__cause__
    return False


CONSUMER_BACKOFF_CAP_SECONDS = 300.0


def consumer_retry_delay(failures: int) -> float:
    """Seconds a partition waits after its `failures`-th transient failure in a row: 1, 2, 4 … 300."""
    return min(2.0 ** (min(max(failures, 1), 20) - 1), CONSUMER_BACKOFF_CAP_SECONDS)  # 2**19 s is past the cap


JOB_BACKOFF = (
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
)


def job_retry_delay(attempts: int) -> timedelta:
    """How long a due job waits after its `attempts`-th failed attempt: 10 s, 30 s, 1 min … capped at 1 h."""
    return JOB_BACKOFF[min(max(attempts, 1), len(JOB_BACKOFF)) - 1]
