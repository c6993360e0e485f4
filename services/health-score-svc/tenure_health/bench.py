"""Recompute benchmark for `make bench` (the lead wires it in): the pure model over a generated
population, in customers per second, with the process's peak RSS.

It measures the scoring arithmetic only; the service's recompute adds the per-customer fact
queries (see docs/contract-deviations.md, "Customer health").
"""

from __future__ import annotations

import random
import resource
import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from tenure_health.scoring import Facts, HealthModel, StageFacts, Survey, Ticket, compute_health, lifecycle_stage

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


if __name__ == "__main__":
    print(recompute_benchmark())
