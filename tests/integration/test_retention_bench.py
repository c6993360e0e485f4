"""The retention report benchmark functions, at a small size (make bench runs them at 100,000)."""

from __future__ import annotations

import random

from tenure_health.retention_bench import _months, retention_benchmark, retention_db_benchmark


def test_the_pure_benchmark_reports_its_time():
    result = retention_benchmark(customers=200)
    # Rounded to the millisecond: the tally of 200 customers may well round to 0.0.
    assert result["customers"] == 200 and result["seconds"] >= 0 and result["peak_rss_mib"] > 0


async def test_the_database_benchmark_reads_back_what_it_seeded(mechanism_db):
    _, sessions = mechanism_db
    result = await retention_db_benchmark(sessions, customers=300)
    rng = random.Random(12)
    assert result["mrr_start"] == sum(_months(rng)[0][1] for _ in range(300))
    assert result["seconds"] > 0
