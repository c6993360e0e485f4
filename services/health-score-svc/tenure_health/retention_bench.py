"""Retention report benchmark for `make bench`: a year of MRR history for a generated population, then
the report's figures over it, in seconds.

`retention_benchmark` times the pure reference's arithmetic (`retention.tally`, which the report's query
does in SQL); `retention_db_benchmark` the whole report over a clock seeded with COPY (the states in
force at the window's ends summed and classified per customer, the renewals due, the deals: each read
from an index), and the monthly MRR series beside it.
"""

from __future__ import annotations

import random
import resource
import time
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenure_health import reports, retention
from tenure_shared.ids import new_id

START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + relativedelta(years=1)
AMOUNTS = (5000, 10000, 20000, 30000)


def _months(rng: random.Random) -> list[tuple[datetime, int, bool]]:
    """(month start, monthly amount, paused) for a year: moves up or down, pauses, churn."""
    amount, path = rng.choice(AMOUNTS), []
    for month in range(13):
        roll = rng.random()
        paused = roll < 0.03
        if roll > 0.97:
            amount = 0
        elif roll > 0.9:
            amount = rng.choice(AMOUNTS)
        path.append((START + relativedelta(months=month), 0 if paused else amount, paused))
    return path


def _result(customers: int, elapsed: float) -> dict[str, Any]:
    return {
        "customers": customers,
        "seconds": round(elapsed, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def retention_benchmark(customers: int = 100_000, seed: int = 12) -> dict[str, float]:
    """The pure reference's arithmetic (retention.tally: sums per customer, movements; the report does the
    same in SQL) over `customers` customers with a year of monthly states each. Each subscription's two
    ends are taken from its history first, untimed."""
    rng = random.Random(seed)
    ends = []
    for n in range(customers):
        history = retention.History(subscription_id=f"sub_{n}", customer_id=f"cus_{n}")
        history.states = [
            retention.State(at=at, mrr=Fraction(amount), paused=paused, period_end=at + relativedelta(months=1))
            for at, amount, paused in _months(rng)
        ]
        ends.append(history.ends(START, END))
    started = time.perf_counter()
    retention.tally(ends, renewals=retention.Renewals(), deal_count=0, deal_total=0, free_plan_moves=0)
    return _result(customers, time.perf_counter() - started)


SEED_CHUNK = 10_000
STATE_COLUMNS = (
    "event_id",
    "subscription_id",
    "customer_id",
    "clock_id",
    "currency",
    "at",
    "verb",
    "status",
    "paused",
    "on_free_plan",
    "plan_code",
    "interval",
    "interval_count",
    "period_amount",
    "mrr_numerator",
    "mrr_denominator",
    "current_period_end",
    "billing_reason",
    "cancellation_scheduled",
)
INVOICE_COLUMNS = (
    "id",
    "customer_id",
    "clock_id",
    "currency",
    "subscription_id",
    "source_event_id",
    "total",
    "status",
    "issued_at",
)


def _seed_rows(clock: str, numbers: range, rng: random.Random) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The MRR states (a subscription created, then renewed monthly) and invoices (one per billed month,
    every 50th voided) of customers `numbers` on `clock`."""
    states, invoices = [], []
    for n in numbers:
        subscription, customer = f"sub_{clock}_{n}", f"cus_{clock}_{n}"
        for month, (at, amount, paused) in enumerate(_months(rng)):
            event = f"evt_{clock}_{n}_{month}"
            verb, reason = ("created", "subscription_create") if month == 0 else ("renewed", "subscription_cycle")
            status = "paused" if paused else "active" if amount else "cancelled"
            period_end = at + relativedelta(months=1)
            states.append(
                (event, subscription, customer, clock, "USD", at, verb, status, paused, False, f"p{amount}", "month", 1)
                + (amount, amount, 1, period_end, reason, False)
            )
            if amount:
                invoice_status = "void" if (n + month) % 50 == 0 else "paid"
                invoices.append(
                    (f"in_{clock}_{n}_{month}", customer, clock, "USD", subscription, event, amount, invoice_status, at)
                )
    return states, invoices


async def _copy(session: AsyncSession, table: str, columns: tuple[str, ...], records: list[tuple[Any, ...]]) -> None:
    raw = await (await session.connection()).get_raw_connection()
    if raw.driver_connection is None:  # typed optional: None only once the connection is closed
        raise RuntimeError("the session's connection is closed")
    await raw.driver_connection.copy_records_to_table(table, records=records, columns=columns)


async def seed_year(sessions: async_sessionmaker[AsyncSession], customers: int) -> str:
    """A fresh clock with a year of monthly MRR states and invoices per customer, written with COPY, and its
    states' successor facts; returns the clock."""
    clock, rng = new_id("clock"), random.Random(12)
    async with sessions() as session, session.begin():
        for first in range(0, customers, SEED_CHUNK):
            states, invoices = _seed_rows(clock, range(first, min(customers, first + SEED_CHUNK)), rng)
            await _copy(session, "health_mrr_states", STATE_COLUMNS, states)
            await _copy(session, "health_mrr_invoices", INVOICE_COLUMNS, invoices)
        # The successor facts the handlers keep as events arrive, for the whole clock at once.
        await reports.link_states(session, "clock_id", clock)
        await reports.link_deals(session, "clock_id", clock)
    async with sessions() as session:
        # Vacuumed (index-only scans see every page as visible) and fresh statistics, as autovacuum would
        # have left tables that grew over a year. VACUUM runs outside a transaction.
        connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        await connection.execute(text("VACUUM (ANALYZE) health_mrr_states, health_mrr_invoices"))
    return clock


async def retention_db_benchmark(sessions: async_sessionmaker[AsyncSession], customers: int = 100_000) -> dict[str, Any]:
    """Seed a fresh clock (`seed_year`), then time GET /v1/reports/retention's work over the year, and
    GET /v1/reports/mrr's (by month) beside it."""
    clock = await seed_year(sessions, customers)
    started = time.perf_counter()
    async with sessions() as session:
        report = await reports.retention_report(session, start=START, end=END, currency="USD", clock_id=clock)
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    async with sessions() as session:
        await reports.mrr_series(session, start=START, end=END, interval="month", currency="USD", clock_id=clock)
    return {
        **_result(customers, elapsed),
        "mrr_series_seconds": round(time.perf_counter() - started, 3),
        "mrr_start": report["mrr_start"],
    }


if __name__ == "__main__":
    print(retention_benchmark())
