"""The chaos suite's short form (`make chaos` runs the long one, tests/chaos): two dozen customers
on two test clocks renew, fail payments, pause, resume and change plans while a worker and an API
process are SIGKILLed and credit-svc's database is closed; afterwards every invoice, payment,
credit note, plan move and dunning case exists once, credit ledgers balance and every event sent
was consumed by every consumer.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tenure_shared.db import connect_raw, service_database_url
from tests.chaos.faults import close_database, kill
from tests.chaos.invariants import CONSUMED, check
from tests.chaos.run import run_chaos


def _faults(stack):
    return [
        kill(stack, "invoicing", "worker"),
        kill(stack, "invoicing", "api"),
        close_database(stack, "credit", 6),
        kill(stack, "dunning", "worker"),
    ]


@pytest.mark.e2e
def test_a_short_chaos_run_loses_nothing_and_doubles_nothing(stack):
    workload, driver, report = run_chaos(
        stack, clocks=2, customers_per_clock=12, months=2, faults=_faults, gap=1.5, strict_ops=False
    )
    print(dict(report.counts), driver.injected, driver.restarts)
    assert driver.errors == []
    assert len(driver.injected) == 4, driver.injected
    assert report.violations == []
    assert report.counts["invoices"] >= 3 * len(workload.customers) // 2


async def _execute(stack, service: str, statement: str, *args) -> None:
    connection = await connect_raw(service_database_url(stack.database_url, service, stack.database_prefix))
    try:
        await connection.execute(statement, *args)
    finally:
        await connection.close()


@pytest.mark.e2e
def test_the_invariants_see_an_event_nobody_consumed_and_a_dead_letter(stack):
    """The checks above can fail: a sent invoice event no consumer has, and a dead letter, on a
    clock of their own (rows removed again; sent rows are never relayed)."""
    clock, event_id, dead_id = (
        f"clock_probe_{uuid.uuid4().hex[:8]}",
        f"evt_probe_{uuid.uuid4().hex}",
        f"evt_dead_{uuid.uuid4().hex}",
    )
    sent = (
        "INSERT INTO outbox_messages (event_id, topic, key, event_type, clock_id, envelope, published_at)"
        " VALUES ($1, 'tenure.invoices', 'k', 'invoice.paid', $2, '{}', now())"
    )
    dead = (
        "INSERT INTO inbox_events (event_id, topic, event_type, clock_id, outcome)"
        " VALUES ($1, 'tenure.invoices', 'x', $2, 'dead_lettered')"
    )
    asyncio.run(_execute(stack, "invoicing", sent, event_id, clock))
    asyncio.run(_execute(stack, "dunning", dead, dead_id, clock))
    try:
        violations = check(stack, [clock]).violations
    finally:
        asyncio.run(_execute(stack, "invoicing", "DELETE FROM outbox_messages WHERE event_id = $1", event_id))
        asyncio.run(_execute(stack, "dunning", "DELETE FROM inbox_events WHERE event_id = $1", dead_id))
    consumers = sorted(s for s, topics in CONSUMED.items() if "tenure.invoices" in topics)
    assert sorted(v.split()[0] for v in violations if event_id in v) == consumers
    assert f"dunning dead letter {dead_id} (dead_lettered)" in violations
