"""The daily recompute of a clock, pipelined on its connection: PostgreSQL reads the next chunk or
writes the last one while the worker scores the current one, with the same results as one customer
at a time."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import event, select, text

from tenure_health import bench, service
from tenure_health.models import HealthCustomer, HealthScore
from tenure_shared.outbox import OutboxMessage


def _spin(seconds: float) -> None:
    """Work (CPU) for `seconds` of this process's CPU time, as the scoring does."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


async def test_a_statement_sent_runs_while_the_caller_works_even_a_large_one(mechanism_db):
    _, sessions = mechanism_db
    statement = text("SELECT extract(epoch FROM clock_timestamp()), length(CAST(:big AS text[])::text), pg_sleep(0.2)")
    big = ["x" * 1000] * 1500  # 1.5 MB: more than a socket's buffer, as a chunk's writes are
    async with sessions() as session, session.begin():
        transport = await service._transport_of(session)
        assert transport is not None
        # Prepared once (a first execution asks PostgreSQL to prepare it, a round trip of its own).
        await session.execute(statement, {"big": []})
        for parameters in ({"big": []}, {"big": big}):
            running = await service._sent(transport, session.execute(statement, parameters))
            working_from = time.time()
            _spin(0.5)
            working_until = time.time()
            started = float((await running).scalar_one())
            # PostgreSQL began while this process was still working, not once it waited for the answer.
            assert started < working_until - 0.1, (started - working_from, working_until - working_from)


async def test_the_next_chunk_is_read_before_the_last_one_is_written(mechanism_db, monkeypatch):
    _, sessions = mechanism_db
    monkeypatch.setattr(service, "RECOMPUTE_CHUNK", 10)
    clock = await bench.seed_clock(sessions, 35)
    order: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FOR UPDATE OF c" in statement:
            order.append(f"read {len(parameters[0])}")
        elif "INSERT INTO health_scores" in statement:
            order.append(f"write {len(parameters[0])}")

    engine = sessions.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with sessions() as session, session.begin():
            assert await service.recompute_clock(session, clock_id=clock, at=bench.NOW) == 35
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert order == ["read 10", "read 10", "write 10", "read 10", "write 10", "read 5", "write 10", "write 5"]


async def test_the_pipelined_recompute_scores_as_one_customer_at_a_time(mechanism_db, monkeypatch):
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
