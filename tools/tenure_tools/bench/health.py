"""Health-score figures: the recompute of customers' scores (pure arithmetic, and the service's
daily recompute on its database) and the retention report over a year (pure, and from the
database), from health-score-svc's own benchmark functions. Each runs in a fresh process so its
peak RSS is its own, not the harness's."""

from __future__ import annotations

import asyncio
from typing import Any

from tenure_shared.db import make_engine, make_session_factory, service_database_url
from tenure_tools.bench.common import in_fresh_process
from tenure_tools.stack import Stack


def _function(name: str):
    from tenure_health import bench, retention_bench

    return getattr(bench, name, None) or getattr(retention_bench, name)


async def _with_sessions(name: str, url: str, customers: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        return dict(await _function(name)(make_session_factory(engine), customers=customers))
    finally:
        await engine.dispose()


def _run(name: str, customers: int, url: str | None) -> dict[str, Any]:
    if url is None:
        return dict(_function(name)(customers=customers))
    return asyncio.run(_with_sessions(name, url, customers))


def health_figures(stack: Stack, *, pure_customers: int, db_customers: int) -> dict[str, dict[str, Any]]:
    """The recompute from the database runs at the pure size (100,000 customers at the default and
    full sizes): seeded with COPY it takes about as long as the recompute itself. `db_customers`
    sizes the retention report from the database (100,000 at the default and full sizes, seeded with
    COPY: a year of monthly states and invoices each)."""
    url = service_database_url(stack.server_url, "health-score", stack.database_prefix)
    return {
        "recompute_pure": in_fresh_process(_run, "recompute_benchmark", pure_customers, None),
        "recompute_db": in_fresh_process(_run, "recompute_db_benchmark", pure_customers, url),
        "retention_pure": in_fresh_process(_run, "retention_benchmark", pure_customers, None),
        "retention_db": in_fresh_process(_run, "retention_db_benchmark", db_customers, url),
    }
