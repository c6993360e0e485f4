"""credit-svc's use cases run in a child process for the money-path tests (credit-svc's tables
cannot share one process's metadata with invoicing's, which the test process holds).

`python -m tests.e2e.credit_steps <step> <json arguments>`, with the credit-svc environment of the
stack; prints the step's JSON result.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta

from tenure_credit import config, service
from tenure_credit.handlers import on_subscription_event
from tenure_credit.jobs import JOB_HANDLERS
from tenure_shared.clock import real_now
from tenure_shared.db import make_engine, make_session_factory
from tenure_shared.due_work import DueWorkRunner
from tenure_shared.events import CloudEvent
from tenure_shared.internal_http import internal_client


class SimulatedCrash(Exception):
    pass


class CrashAfterAnswer:
    """An internal client whose process dies as soon as the peer has answered."""

    def __init__(self, internal):
        self._internal = internal

    async def request(self, *args, **kwargs):
        await self._internal.request(*args, **kwargs)
        raise SimulatedCrash


async def refund_then_crash(sessions, *, credit_note_id: str) -> str:
    """The API's refund, dying right after the gateway answered."""
    internal = CrashAfterAnswer(internal_client(config.get_settings()))
    try:
        await service.refund(sessions, credit_note_id=credit_note_id, amount=None, internal=internal)
    except SimulatedCrash:
        return "crashed"
    return "not crashed"


async def refund(sessions, *, credit_note_id: str) -> str:
    """The API's refund, whole."""
    internal = internal_client(config.get_settings())
    done = await service.refund(sessions, credit_note_id=credit_note_id, amount=None, internal=internal)
    return done.status


async def sweep(sessions) -> int:
    """The due-work pass that settles what a crash left pending (run as if minutes had gone by)."""
    return await DueWorkRunner(sessions, JOB_HANDLERS).run_due(None, real_now() + timedelta(minutes=5))


async def consume(sessions, *, event: dict, crash: bool) -> str:
    """credit-svc's handler for a subscription event, in one transaction; `crash` rolls it back at the end."""
    try:
        async with sessions() as session, session.begin():
            await on_subscription_event(session, CloudEvent.model_validate(event))
            if crash:
                raise SimulatedCrash
    except SimulatedCrash:
        return "crashed"
    return "committed"


STEPS = {"refund_then_crash": refund_then_crash, "refund": refund, "sweep": sweep, "consume": consume}


async def main(step: str, arguments: dict) -> None:
    engine = make_engine(config.get_settings().service_database_url())
    try:
        result = await STEPS[step](make_session_factory(engine), **arguments)
    finally:
        await engine.dispose()
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
