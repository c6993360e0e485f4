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
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenure_health import models
from tenure_health.scoring import Facts, HealthModel, StageFacts, Survey, Ticket, compute_health, lifecycle_stage
from tenure_health.service import recompute_clock
from tenure_shared.ids import new_id

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _facts(rng: random.Random) -> tuple[Facts, StageFacts]:
    def ago(days: float) -> datetime:
        return NOW - timedelta(days=days)

    facts = Facts(
        now=NOW,
        has_billing=True,
        failed_payments=tuple(ago(rng.uniform(0, 90)) for _ in range(rng.randint(0, 2))),
        usage_recent=Fraction(rng.randint(0, 1000)),
        usage_baseline=Fraction(rng.randint(1, 1000)),
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


async def recompute_db_benchmark(sessions: async_sessionmaker[AsyncSession], customers: int = 1_000) -> dict[str, float]:
    """Seed `customers` customers on a fresh clock of health-score-svc's database (a subscription, a
    paid invoice, a failed payment, logins, a ticket, a survey each), then time the clock's daily
    recompute of all of them in one transaction."""
    clock = new_id("clock")
    rng = random.Random(11)
    async with sessions() as session, session.begin():
        for n in range(customers):
            cid = f"cus_bench{clock[-8:]}{n:07d}"
            session.add(models.HealthCustomer(id=cid, clock_id=clock, started_at=NOW - timedelta(days=200), version=0))
            session.add(
                models.HealthSubscription(
                    id=f"sub_{cid}",
                    customer_id=cid,
                    status="active",
                    plan_code="team",
                    plan_amount=10000,
                    quantity=1,
                    current_period_start=NOW - timedelta(days=10),
                    current_period_end=NOW + timedelta(days=20),
                )
            )
            session.add(models.HealthInvoice(id=f"inv_{cid}", customer_id=cid, status="paid", amount_due=0))
            session.add(models.BillingFact(customer_id=cid, kind="payment_failed", at=NOW - timedelta(days=rng.randint(1, 80))))
            for day in range(0, 30, rng.randint(1, 6)):
                session.add(models.Activity(id=f"act_{cid}_{day}", customer_id=cid, name="login", at=NOW - timedelta(days=day)))
            session.add(
                models.Ticket(
                    id=f"tkt_{cid}", customer_id=cid, opened_at=NOW - timedelta(days=5), severity="normal", status="open"
                )
            )
            session.add(
                models.Survey(
                    id=f"srv_{cid}", customer_id=cid, kind="nps", score=rng.randint(0, 10), answered_at=NOW - timedelta(days=9)
                )
            )
        await session.flush()
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        await recompute_clock(session, clock_id=clock, at=NOW)
    elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    async with sessions() as session:
        on_clock = (models.HealthCustomer.clock_id == clock, models.HealthCustomer.score.is_not(None))
        scored = await session.scalar(select(func.count()).select_from(models.HealthCustomer).where(*on_clock))
    return {
        "customers": customers,
        "scored": scored,
        "seconds": round(elapsed, 3),
        "customers_per_s": round(customers / elapsed),
        "peak_rss_mib": round(peak_mib, 1),
    }


if __name__ == "__main__":
    print(recompute_benchmark())
