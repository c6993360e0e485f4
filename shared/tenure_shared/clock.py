"""Business time. Real time, or a test clock's frozen time for customers living on a test clock.

Each service keeps its own copy of every test clock's current time (`test_clock_times`), set by
the clock's coordinator in subscription-svc before it asks the service to run due work.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, String, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from tenure_shared.db import Base
from tenure_shared.errors import NotFound


class TestClockTime(Base):
    __tablename__ = "test_clock_times"
    __test__ = False  # not a pytest test class

    clock_id: Mapped[str] = mapped_column(String, primary_key=True)
    now: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def real_now() -> datetime:
    """The wall clock, in UTC. The only place that reads it."""
    return datetime.now(UTC)


async def business_now(session: AsyncSession, clock_id: str | None) -> datetime:
    """Now for a customer: real time, or the frozen time of the customer's test clock."""
    if clock_id is None:
        return real_now()
    now = await session.scalar(select(TestClockTime.now).where(TestClockTime.clock_id == clock_id))
    if now is None:
        raise NotFound(f"Test clock {clock_id} is not known to this service.", code="test_clock_not_found")
    return now


async def set_clock_time(session: AsyncSession, clock_id: str, now: datetime) -> None:
    statement = insert(TestClockTime).values(clock_id=clock_id, now=now)
    await session.execute(statement.on_conflict_do_update(index_elements=[TestClockTime.clock_id], set_={"now": now}))
