"""The daily recompute of a clock, in chunks, with the same results as one customer at a time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tenure_health import bench, service
from tenure_health.models import HealthCustomer, HealthScore
from tenure_shared.outbox import OutboxMessage


async def test_the_chunked_daily_recompute_scores_as_one_customer_at_a_time(mechanism_db, monkeypatch):
    """Two clocks seeded alike (bench.seed_clock's generator is seeded): one recomputed by the daily
    recompute in chunks of 7, the other one customer at a time; two days, so the second announces
    what changed. Scores, factors, history and events must match customer for customer."""
    _, sessions = mechanism_db
    monkeypatch.setattr(service, "RECOMPUTE_CHUNK", 7)
    chunked, single = await bench.seed_clock(sessions, 40), await bench.seed_clock(sessions, 40)
    async with sessions() as session:
        singles = list(
            await session.scalars(select(HealthCustomer.id).where(HealthCustomer.clock_id == single).order_by(HealthCustomer.id))
        )
    for at in (bench.NOW - timedelta(days=1), bench.NOW):
        async with sessions() as session, session.begin():
            await service.recompute_clock(session, clock_id=chunked, at=at)
        for customer_id in singles:
            async with sessions() as session, session.begin():
                await service.recompute(session, customer_id=customer_id, at=at)

    async def dump(clock: str) -> dict[str, list]:
        async with sessions() as session:
            customers = await session.execute(
                select(
                    HealthCustomer.id,
                    HealthCustomer.score,
                    HealthCustomer.status,
                    HealthCustomer.stage,
                    HealthCustomer.profile,
                    HealthCustomer.factors,
                    HealthCustomer.first_value_at,
                    HealthCustomer.risk_episode_open,
                    HealthCustomer.computed_at,
                )
                .where(HealthCustomer.clock_id == clock)
                .order_by(HealthCustomer.id)
            )
            history = await session.execute(
                select(
                    HealthScore.customer_id, HealthScore.computed_at, HealthScore.score, HealthScore.stage, HealthScore.factors
                )
                .join(HealthCustomer, HealthCustomer.id == HealthScore.customer_id)
                .where(HealthCustomer.clock_id == clock)
                .order_by(HealthScore.customer_id, HealthScore.computed_at)
            )
            events = await session.execute(
                select(OutboxMessage.key, OutboxMessage.event_type, OutboxMessage.envelope["data"])
                .where(OutboxMessage.clock_id == clock)
                .order_by(OutboxMessage.id)
            )
            # Customer ids differ by their clock's suffix only: compare without them.
            return {
                "customers": [list(row[1:]) for row in customers],
                "history": [list(row[1:]) for row in history],
                "events": [(row[0][-7:], row[1], {k: v for k, v in row[2].items() if k != "customer_id"}) for row in events],
            }

    got, expected = await dump(chunked), await dump(single)
    assert len(got["customers"]) == 40 and len(got["history"]) == 80
    assert got == expected
