"""(c) The API at 16 concurrent clients: `GET /v1/subscriptions/{id}` over the renewal run's
subscriptions and `POST /v1/customers` (real-time customers), with the load generator that measured
the bare endpoint."""

from __future__ import annotations

from typing import Any

from tenure_tools.bench.common import API_KEY
from tenure_tools.bench.load import Load, run_load
from tenure_tools.stack import Stack


def api_load(stack: Stack, subscription_ids: list[str], *, clients: int, seconds: float) -> dict[str, Any]:
    base = stack.url("subscription")
    headers = {"Authorization": f"Bearer {API_KEY}"}
    get = run_load(
        Load(base, "GET", "/v1/subscriptions/{id}", headers, ids=tuple(subscription_ids), clients=clients, seconds=seconds)
    )
    post = run_load(
        Load(
            base,
            "POST",
            "/v1/customers",
            headers,
            body={"email": "load-{n}@example.com", "name": "Load {n}", "currency": "USD"},
            clients=clients,
            seconds=seconds,
        )
    )
    return {"get_subscription": get, "post_customer": post}
