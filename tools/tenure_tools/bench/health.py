"""Health-score figures: the recompute of customers' scores (pure arithmetic, and the service's
daily recompute on its database) and the retention report over a year (pure, and from the
database), from health-score-svc's own benchmark functions, each in a fresh process so its peak RSS
is its own, not the harness's; and, on the running stack, how soon a real-time signal shows in the
customer's score."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from tenure_shared.db import make_engine, make_session_factory, service_database_url
from tenure_tools.bench.common import api_client, in_fresh_process, latency_ms
from tenure_tools.stack import Stack

SIGNAL_CUSTOMERS = 20
POLL_SECONDS = 0.005


def _function(name: str):
    from tenure_health import bench, retention_bench

    return getattr(bench, name, None) or getattr(retention_bench, name)


async def _with_sessions(name: str, url: str, customers: int) -> dict[str, Any]:
    engine = make_engine(url, pre_ping=False)
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
    COPY: a year of monthly states and invoices each). The signal latency is measured first, on a quiet
    health database."""
    url = service_database_url(stack.server_url, "health-score", stack.database_prefix)
    return {
        "signal_latency": signal_latency(stack),
        "recompute_pure": in_fresh_process(_run, "recompute_benchmark", pure_customers, None),
        "recompute_db": in_fresh_process(_run, "recompute_db_benchmark", pure_customers, url),
        "retention_pure": in_fresh_process(_run, "retention_benchmark", pure_customers, None),
        "retention_db": in_fresh_process(_run, "retention_db_benchmark", db_customers, url),
    }


def _survey(customer_id: str, score: int) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {"id": f"nps_{uuid.uuid4().hex}", "customer_id": customer_id, "kind": "nps", "score": score, "answered_at": now}


def _score_after(http: httpx.Client, health_url: str, signal: dict[str, Any], unlike: int | None) -> tuple[int, float]:
    """Post `signal` (an NPS answer), then poll the customer's health until its score is there and
    differs from `unlike`; returns the score and the seconds from the post to the first read of it."""
    began = time.perf_counter()
    http.post(f"{health_url}/v1/signals/surveys", json={"surveys": [signal]}).raise_for_status()
    while True:
        response = http.get(f"{health_url}/v1/customers/{signal['customer_id']}/health")
        if response.status_code == 200 and response.json()["score"] != unlike:
            return response.json()["score"], time.perf_counter() - began
        if response.status_code not in (200, 404):
            response.raise_for_status()
        if time.perf_counter() - began > 60:
            raise RuntimeError(f"customer {signal['customer_id']}'s score did not change within 60 s of a signal")
        time.sleep(POLL_SECONDS)


def signal_latency(stack: Stack, customers: int = SIGNAL_CUSTOMERS) -> dict[str, Any]:
    """Real time (no test clock), one customer at a time: a promoter's NPS answer gives the customer
    its first score; then a detractor's answer, and the time from that POST to the first GET showing
    the changed score (the debounced recompute job, run by the worker, in between)."""
    health_url = stack.url("health-score")
    latencies = []
    with api_client() as http:
        for _ in range(customers):
            body = {"email": f"{uuid.uuid4().hex}@example.com", "name": "Signal bench", "currency": "USD"}
            created = http.post(f"{stack.url('subscription')}/v1/customers", json=body)
            created.raise_for_status()
            customer_id = created.json()["id"]
            first, _ = _score_after(http, health_url, _survey(customer_id, 9), unlike=None)
            _, seconds = _score_after(http, health_url, _survey(customer_id, 2), unlike=first)
            latencies.append(seconds)
    return {"customers": customers, "latency_ms": latency_ms(latencies)}
