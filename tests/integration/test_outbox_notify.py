"""A transaction that writes many outbox rows notifies the relay once, and the notification still
arrives when (and only if) the transaction commits (real PostgreSQL)."""

from __future__ import annotations

import asyncio

from sqlalchemy import event

from tenure_shared.outbox import notify
from tests.integration.things import notifications

CHANNEL = "tenure_itest_notify"


def _count_notifies(sessions) -> list[str]:
    """The pg_notify statements the sessions' engine sends."""
    sent: list[str] = []
    engine = sessions.kw["bind"].sync_engine

    @event.listens_for(engine, "before_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):
        if "pg_notify" in statement:
            sent.append(statement)

    return sent


async def test_repeats_in_one_transaction_send_one_statement_and_one_notification(mechanism_db):
    url, sessions = mechanism_db
    sent = _count_notifies(sessions)
    async with notifications(url, CHANNEL) as received:
        async with sessions() as session, session.begin():
            for _ in range(5):
                await notify(session, CHANNEL)
        assert len(sent) == 1
        await asyncio.wait_for(received.get(), timeout=5)

        async with sessions() as session, session.begin():  # a new transaction notifies again
            await notify(session, CHANNEL)
        assert len(sent) == 2
        await asyncio.wait_for(received.get(), timeout=5)


async def test_a_notification_in_a_rolled_back_savepoint_is_sent_again_outside_it(mechanism_db):
    url, sessions = mechanism_db
    async with notifications(url, CHANNEL) as received:
        async with sessions() as session, session.begin():
            async with session.begin_nested() as savepoint:
                await notify(session, CHANNEL)
                await savepoint.rollback()
            await notify(session, CHANNEL)
        await asyncio.wait_for(received.get(), timeout=5)
