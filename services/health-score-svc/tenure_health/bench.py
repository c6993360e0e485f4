"""Recompute benchmarks for `make bench`: the pure model over a generated population, in customers
per second, with the process's peak RSS.

`recompute_benchmark` measures the scoring arithmetic only; `recompute_db_benchmark` the
service's daily recompute of a clock (fact queries, history rows, events) on a real database, by
one worker process and by several.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import resource
import time
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenure_health import models, service
from tenure_health.jobs import JOB_HANDLERS
from tenure_health.scoring import Facts, HealthModel, StageFacts, Survey, Ticket, compute_health, lifecycle_stage
from tenure_shared.db import make_engine, make_session_factory
from tenure_shared.due_work import DueWorkRunner, schedule_job
from tenure_shared.ids import new_id
from tenure_shared.outbox import OutboxMessage
from tenure_shared.worker import freeze_startup_heap

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


async def recompute_db_benchmark(
    sessions: async_sessionmaker[AsyncSession], customers: int = 100_000, workers: tuple[int, ...] = (2, 1)
) -> dict[str, Any]:
    """Seed `customers` customers on a fresh clock of health-score-svc's database (`seed_clock`), then
    time the clock's daily recompute as the service runs it: the daily job splits the customers into
    slices, which worker processes share (`_drain`, a worker's due-work runner). The first day is
    untimed, so each timed day compares with yesterday's health and announces what changed, as every
    daily run after a customer's first does; then one timed day per count in `workers`. The most
    workers go first, on the day that announces the most changes (its events cost the most)."""
    clock = await seed_clock(sessions, customers)
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    async with sessions() as session, session.begin():  # each day's job schedules the next day's
        await schedule_job(
            session, kind=service.DAILY, key=service.daily_key(clock), due_at=NOW - timedelta(days=1), clock_id=clock
        )
    await _daily(sessions, url, clock, NOW - timedelta(days=1), processes=1)
    runs: list[dict[str, Any]] = []
    for day, processes in enumerate(workers):
        at = NOW + timedelta(days=day)
        events_before = await _events(sessions, clock)
        timed = await _daily(sessions, url, clock, at, processes=processes)
        async with sessions() as session:
            today = (models.HealthCustomer.clock_id == clock, models.HealthCustomer.computed_at == at)
            scored = await session.scalar(select(func.count()).select_from(models.HealthCustomer).where(*today))
        events = await _events(sessions, clock) - events_before
        runs.append(
            {
                "workers": processes,
                "scored": scored,
                "events": events,
                **timed,
                "customers_per_s": round(customers / timed["seconds"]),
            }
        )
    best = max(runs, key=itemgetter("customers_per_s"))
    return {
        "customers": customers,
        "customers_per_s": best["customers_per_s"],
        "workers": best["workers"],
        "peak_rss_mib": max(run["peak_rss_mib"] for run in runs),
        "runs": runs,
    }


async def _events(sessions: async_sessionmaker[AsyncSession], clock: str) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.clock_id == clock)) or 0


async def _daily(
    sessions: async_sessionmaker[AsyncSession], url: str, clock: str, at: datetime, *, processes: int
) -> dict[str, float]:
    """The clock's daily job due at `at` (scheduled), run by `processes` worker processes, each started and
    connected before the clock starts: seconds from the go to the last slice done, the workers'
    CPU seconds (summed) and their peak RSS."""
    context = multiprocessing.get_context("spawn")
    ready, go, results = context.Barrier(processes + 1), context.Event(), context.Queue()
    workers = [context.Process(target=_drain, args=(url, clock, at, ready, go, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    try:
        await asyncio.to_thread(ready.wait, 120)
        started = time.perf_counter()
        go.set()
        done = [await asyncio.to_thread(results.get, True, 3600) for _ in workers]
        elapsed = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.join(10)
            worker.kill()
    return {
        "seconds": round(elapsed, 3),
        "worker_cpu_s": round(sum(cpu for cpu, _ in done), 2),
        "peak_rss_mib": round(max(rss for _, rss in done), 1),
    }


def _drain(url: str, clock: str, at: datetime, ready: Any, go: Any, results: Any) -> None:
    """A worker's share of the clock's jobs due at or before `at`: runs them until none is left.
    Puts its CPU seconds from the go, and its peak RSS in MiB, on `results`."""

    async def drain() -> float:
        engine = make_engine(url, pre_ping=False)
        try:
            runner = DueWorkRunner(make_session_factory(engine), JOB_HANDLERS)
            await runner.next_due_at(clock)  # connected and warm before the go
            freeze_startup_heap()  # as a worker does once it is set up
            await asyncio.to_thread(ready.wait, 120)
            await asyncio.to_thread(go.wait)
            started = time.process_time()
            while True:
                ran = await runner.run_due(clock, at)
                due = await runner.next_due_at(clock)
                if due is None or due > at:
                    return time.process_time() - started
                if not ran:  # what is left is another worker's now
                    await asyncio.sleep(0.01)
        finally:
            await engine.dispose()

    cpu = asyncio.run(drain())
    results.put((cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))  # ru_maxrss is KiB on Linux


if __name__ == "__main__":
    print(recompute_benchmark())
