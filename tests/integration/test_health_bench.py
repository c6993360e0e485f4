"""The recompute benchmark functions, at a small size (make bench runs them at 100,000)."""

from __future__ import annotations

from tenure_health.bench import recompute_benchmark, recompute_db_benchmark


def test_the_pure_benchmark_reports_its_rate():
    result = recompute_benchmark(customers=200)
    assert result["customers"] == 200 and result["customers_per_s"] > 0


async def test_the_database_benchmark_scores_every_customer_it_seeded_once_a_day_by_each_count_of_workers(mechanism_db):
    _, sessions = mechanism_db
    result = await recompute_db_benchmark(sessions, customers=300, workers=(1, 2))
    assert result["customers"] == 300
    assert [(run["workers"], run["scored"]) for run in result["runs"]] == [(1, 300), (2, 300)]
