"""(a) The renewal run: N subscriptions due at one instant on a test clock; the clock advances over
the renewal and the time is taken until the clock is `ready` (every service has settled: renewed,
invoiced, paid, every consumer done). Every service process's RSS is sampled meanwhile, and the
service processes (workers and APIs) can be profiled with py-spy."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenure_shared.db import connect_raw, service_database_url
from tenure_tools.bench.common import api_client, wait_clock
from tenure_tools.bench.memory import RssSampler, ServiceProfiler
from tenure_tools.bench.seed import Catalog, create_clock, seed_subscriptions
from tenure_tools.services import SERVICES
from tenure_tools.stack import Stack

START = "2026-03-01T00:00:00Z"
RENEWAL = "2026-04-01T00:00:00Z"


async def _renewal_invoices(stack: Stack, clock: str) -> dict[str, int]:
    """Renewal invoices of the clock by status, straight from invoicing's database (the check must
    not cost N API calls)."""
    conn = await connect_raw(service_database_url(stack.server_url, "invoicing", stack.database_prefix))
    try:
        rows = await conn.fetch(
            "SELECT status, count(*) AS n FROM invoices WHERE clock_id = $1 AND period_start = '2026-04-01T00:00:00Z'"
            " GROUP BY status",
            clock,
        )
    finally:
        await conn.close()
    return {r["status"]: r["n"] for r in rows}


async def _finished_after(stack: Stack, clock: str, began: datetime) -> dict[str, float | None]:
    """Per service, seconds from the advance until its last event for the clock was consumed or
    written (the rows' commit-time stamps, read afterwards so the run pays nothing for it): which
    service the clock waited for. None: the service did nothing for the clock in the run."""
    finished: dict[str, float | None] = {}
    for service in SERVICES:
        conn = await connect_raw(service_database_url(stack.server_url, service, stack.database_prefix))
        try:
            last = await conn.fetchval(
                "SELECT max(t) FROM (SELECT max(received_at) AS t FROM inbox_events WHERE clock_id = $1 AND received_at >= $2"
                " UNION ALL SELECT max(created_at) FROM outbox_messages WHERE clock_id = $1 AND created_at >= $2) AS stamps",
                clock,
                began,
            )
        finally:
            await conn.close()
        finished[service] = None if last is None else round((last - began).total_seconds(), 2)
    return finished


def renewal_run(
    stack: Stack, catalog: Catalog, subscriptions: int, *, seed_clients: int = 16, profile_dir: Path | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The run's figures, and the subscriptions it created (the API figures read them)."""
    clock = create_clock(stack, START)
    created, seed_seconds = seed_subscriptions(stack, clock, catalog.pro, subscriptions, clients=seed_clients)
    sub_url = stack.url("subscription")
    with api_client() as http:
        began = time.perf_counter()
        wait_clock(http, sub_url, clock)
        first_invoices_seconds = time.perf_counter() - began
        with RssSampler(stack) as rss:
            profiler = ServiceProfiler(stack, profile_dir) if profile_dir else None
            if profiler:
                profiler.__enter__()
            try:
                began, began_at = time.perf_counter(), datetime.now(UTC)
                http.post(f"{sub_url}/v1/test-clocks/{clock}/advance", json={"frozen_time": RENEWAL}).raise_for_status()
                wait_clock(http, sub_url, clock)
                seconds = time.perf_counter() - began
            finally:
                if profiler:
                    profiler.__exit__(None, None, None)
    invoices = asyncio.run(_renewal_invoices(stack, clock))
    finished_after = asyncio.run(_finished_after(stack, clock, began_at))
    figures = {
        "subscriptions": len(created),
        "seconds": round(seconds, 2),
        "subscriptions_per_s": round(len(created) / seconds, 1),
        "renewal_invoices_by_status": invoices,
        "all_renewed_and_paid": invoices == {"paid": len(created)},
        "service_finished_after_s": finished_after,
        "seeding": {
            "how": f"POST /v1/customers + POST /v1/subscriptions from {seed_clients} concurrent clients",
            "seconds": round(seed_seconds, 2),
            "subscriptions_per_s": round(len(created) / seed_seconds, 1),
            "first_invoices_settled_after_s": round(first_invoices_seconds, 2),
        },
        "rss": rss.summary(),
        "rss_samples": rss.samples,
        "profile": profiler.files if profiler else None,
    }
    return figures, [s for _, s in created]
