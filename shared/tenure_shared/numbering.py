"""Gapless document numbers (INV-000001, CN-000001).

A counter row per sequence is bumped in the document's own transaction: a rollback gives the number
back, and concurrent documents queue on the row lock, so numbers are consecutive with no gaps.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from tenure_shared.db import Base


class NumberSequence(Base):
    __tablename__ = "number_sequences"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger)


async def lock_sequence(session: AsyncSession, name: str) -> int:
    """Hold the sequence's row lock until the transaction ends; returns the last number issued."""
    await session.execute(insert(NumberSequence).values(name=name, last_value=0).on_conflict_do_nothing())
    result = await session.execute(select(NumberSequence.last_value).where(NumberSequence.name == name).with_for_update())
    return result.scalar_one()  # the row exists: inserted just above unless it was there already


async def next_number(session: AsyncSession, name: str, prefix: str) -> str:
    """The next number of the sequence, e.g. `INV-000042`."""
    await session.execute(insert(NumberSequence).values(name=name, last_value=0).on_conflict_do_nothing())
    value = await session.scalar(
        update(NumberSequence)
        .where(NumberSequence.name == name)
        .values(last_value=NumberSequence.last_value + 1)
        .returning(NumberSequence.last_value)
    )
    return f"{prefix}-{value:06d}"
