"""Retention report benchmark for `make bench` (the lead wires it in): a year of MRR history for a
generated population, then the report's figures over it, in seconds.

`retention_benchmark` times the pure figures; `retention_db_benchmark` the whole report (reading
the MRR states of a seeded clock from the database, then the figures).
"""

from __future__ import annotations

import random
import resource
import time
from datetime import UTC, datetime
from fractions import Fraction

from dateutil.relativedelta import relativedelta
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenure_health import reports, retention
from tenure_health.models import MrrState
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


def _result(customers: int, elapsed: float) -> dict[str, float]:
    return {
        "customers": customers,
        "seconds": round(elapsed, 3),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def retention_benchmark(customers: int = 100_000, seed: int = 12) -> dict[str, float]:
    """The figures of one year over `customers` customers with a state a month each."""
    rng = random.Random(seed)
    histories = []
    for n in range(customers):
        history = retention.History(subscription_id=f"sub_{n}", customer_id=f"cus_{n}")
        history.states = [
            retention.State(at=at, mrr=Fraction(amount), paused=paused, period_end=at + relativedelta(months=1))
            for at, amount, paused in _months(rng)
        ]
        history.renewed_at = {s.period_end for s in history.states if s.mrr > 0}
        histories.append(history)
    started = time.perf_counter()
    retention.figures(histories, start=START, end=END, deals=[], free_plan_moves=0)
    return _result(customers, time.perf_counter() - started)


async def retention_db_benchmark(sessions: async_sessionmaker[AsyncSession], customers: int = 1_000) -> dict[str, float]:
    """Seed a fresh clock with a year of monthly MRR states per customer, then time GET /v1/reports/retention's work."""
    clock, rng = new_id("clock"), random.Random(12)
    rows = []
    for n in range(customers):
        for month, (at, amount, paused) in enumerate(_months(rng)):
            rows.append(
                {
                    "event_id": f"evt_{clock}_{n}_{month}",
                    "subscription_id": f"sub_{clock}_{n}",
                    "customer_id": f"cus_{clock}_{n}",
                    "clock_id": clock,
                    "currency": "USD",
                    "at": at,
                    "verb": "renewed",
                    "status": "paused" if paused else "active" if amount else "cancelled",
                    "paused": paused,
                    "on_free_plan": False,
                    "plan_code": f"p{amount}",
                    "interval": "month",
                    "interval_count": 1,
                    "period_amount": amount,
                    "mrr_numerator": amount,
                    "mrr_denominator": 1,
                    "current_period_end": at + relativedelta(months=1),
                    "billing_reason": "subscription_cycle",
                    "cancellation_scheduled": False,
                }
            )
    async with sessions() as session, session.begin():
        for chunk in range(0, len(rows), 5_000):
            await session.execute(insert(MrrState), rows[chunk : chunk + 5_000])
    started = time.perf_counter()
    async with sessions() as session:
        report = await reports.retention_report(session, start=START, end=END, currency="USD", clock_id=clock)
    return {**_result(customers, time.perf_counter() - started), "mrr_start": report["mrr_start"]}


if __name__ == "__main__":
    print(retention_benchmark())
