"""Recompute benchmark for `make bench` (the lead wires it in): the pure model over a generated
population, in customers per second, with the process's peak RSS.

`recompute_benchmark` measures the scoring arithmetic only; `recompute_db_benchmark` the
service's daily recompute of a clock (fact queries, history rows, events) on a real database.
"""

from __future__ import annotations

import random
import resource
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenure_health import models
from tenure_health.scoring import Facts, HealthModel, StageFacts, Survey, Ticket, compute_health, lifecycle_stage
from tenure_health.service import recompute_clock
from tenure_shared.ids import new_id
from tenure_shared.outbox import OutboxMessage

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _facts(rng: random.Random) -> tuple[Facts, StageFacts]:
    def ago(days: float) -> datetime:
        return NOW - timedelta(days=days)

    facts = Facts(
        now=NOW,
        has_billing=True,
        failed_payments=tuple(ago(rng.uniform(0, 90)) for _ in range(rng.randint(0, 2))),
        usage_recent=float(rng.randint(0, 1000)),
        usage_baseline=float(rng.randint(1, 1000)),
        included_units=500,
        activity_days=tuple((NOW - timedelta(days=d)).date() for d in range(0, 30, rng.randint(1, 5))),
        last_activity_at=ago(rng.uniform(0, 10)),
        tickets=tuple(Ticket(ago(rng.uniform(0, 60)), "normal") for _ in range(rng.randint(0, 3))),
        surveys=(Survey("nps", rng.randint(0, 10), ago(rng.uniform(0, 90))),),
        has_subscription=True,
    )
    stage = StageFacts(now=NOW, first_value_at=ago(100), renews_at=NOW + timedelta(days=rng.randint(1, 30)))
    return facts, stage


def recompute_benchmark(customers: int = 100_000, seed: int = 11) -> dict[str, float]:
    """Score `customers` generated customers; returns customers/s and peak RSS in MiB."""
    rng, model = random.Random(seed), HealthModel()
    population = [_facts(rng) for _ in range(customers)]
    started = time.perf_counter()
    for facts, stage in population:
        compute_health(facts, model, started_at=NOW - timedelta(days=365))
        lifecycle_stage(stage, model)
    elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss is KiB on Linux
    return {
        "customers": customers,
        "seconds": round(elapsed, 3),
        "customers_per_s": round(customers / elapsed),
        "peak_rss_mib": round(peak_mib, 1),
    }


SEED_CHUNK = 10_000


async def _copy(session: AsyncSession, table: str, columns: tuple[str, ...], records: list[tuple]) -> None:
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    if driver is None:
        raise RuntimeError("the session's connection is closed")
    await driver.copy_records_to_table(table, records=records, columns=columns)


def _seed_rows(clock: str, numbers: range, rng: random.Random) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
    """The rows of customers `numbers` on `clock`, by table (columns, records): a subscription, a paid
    invoice, a failed payment, logins, a ticket and a survey each."""
    customers, subscriptions, invoices, facts, activity, tickets, surveys = ([] for _ in range(7))
    for n in numbers:
        cid = f"cus_bench{clock[-8:]}{n:07d}"
        customers.append((cid, clock, NOW - timedelta(days=200), 0))
        subscriptions.append((f"sub_{cid}", cid, "active", "team", 10000, 1, NOW - timedelta(days=10), NOW + timedelta(days=20)))
        invoices.append((f"inv_{cid}", cid, "paid", 0))
        facts.append((cid, "payment_failed", NOW - timedelta(days=rng.randint(1, 80))))
        for day in range(0, 30, rng.randint(1, 6)):
            activity.append((f"act_{cid}_{day}", cid, "login", NOW - timedelta(days=day)))
        tickets.append((f"tkt_{cid}", cid, NOW - timedelta(days=5), "normal", "open"))
        surveys.append((f"srv_{cid}", cid, "nps", rng.randint(0, 10), NOW - timedelta(days=9)))
    return {
        "health_customers": (("id", "clock_id", "started_at", "version"), customers),
        "health_subscriptions": (
            ("id", "customer_id", "status", "plan_code", "plan_amount", "quantity", "current_period_start", "current_period_end"),
            subscriptions,
        ),
        "health_invoices": (("id", "customer_id", "status", "amount_due"), invoices),
        "health_billing_facts": (("customer_id", "kind", "at"), facts),
        "health_activity": (("id", "customer_id", "name", "at"), activity),
        "health_tickets": (("id", "customer_id", "opened_at", "severity", "status"), tickets),
        "health_surveys": (("id", "customer_id", "kind", "score", "answered_at"), surveys),
    }


async def seed_clock(sessions: async_sessionmaker[AsyncSession], customers: int) -> str:
    """`customers` customers on a fresh clock, written with COPY in chunks (memory stays flat); returns the clock."""
    clock = new_id("clock")
    rng = random.Random(11)
    async with sessions() as session, session.begin():
        for start in range(0, customers, SEED_CHUNK):
            rows = _seed_rows(clock, range(start, min(customers, start + SEED_CHUNK)), rng)
            for table, (columns, records) in rows.items():
                await _copy(session, table, columns, records)
    async with sessions() as session, session.begin():
        # Fresh statistics, as autovacuum would have them for tables that grew over months.
        await session.execute(text(f"ANALYZE {', '.join(rows)}"))
    return clock


async def recompute_db_benchmark(sessions: async_sessionmaker[AsyncSession], customers: int = 100_000) -> dict[str, float | None]:
    """Seed `customers` customers on a fresh clock of health-score-svc's database (`seed_clock`), then
    time the clock's daily recompute of all of them in one transaction, as the daily job runs it. The
    day before is recomputed first, untimed, so today's run compares with yesterday's health and
    announces what changed, as every daily run after a customer's first does."""
    clock = await seed_clock(sessions, customers)
    async with sessions() as session, session.begin():
        await recompute_clock(session, clock_id=clock, at=NOW - timedelta(days=1))
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        await recompute_clock(session, clock_id=clock, at=NOW)
    elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    async with sessions() as session:
        today = (models.HealthCustomer.clock_id == clock, models.HealthCustomer.computed_at == NOW)
        scored = await session.scalar(select(func.count()).select_from(models.HealthCustomer).where(*today))
        events = await session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.clock_id == clock))
    return {
        "customers": customers,
        "scored": scored,
        "events": events,
        "seconds": round(elapsed, 3),
        "customers_per_s": round(customers / elapsed),
        "peak_rss_mib": round(peak_mib, 1),
    }


if __name__ == "__main__":
    print(recompute_benchmark())
