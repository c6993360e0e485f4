"""Seeding through the public API: the benchmark's catalog and account settings, and customers with
subscriptions on a test clock, created by concurrent clients (as a user's import would)."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    wait_incrementing,
)

from tenure_tools.bench.common import API_KEY, api_client
from tenure_tools.stack import Stack

PRO_AMOUNT = 4900
DUNNING_POLICY = {"retry_after_days": [1, 3, 5], "final_action": "move_to_free_plan"}


@dataclass(frozen=True)
class Catalog:
    pro: str
    free: str


def prepare_account(stack: Stack) -> Catalog:
    """`pro` 49.00 a month and `free` 0.00 a month (the account's free plan); dunning retries after 1,
    3 and 5 days and then moves the subscription to the free plan (scenario 5's policy)."""
    tag = uuid.uuid4().hex[:6]
    catalog = Catalog(pro=f"bench-pro-{tag}", free=f"bench-free-{tag}")
    sub = stack.url("subscription")
    with api_client() as http:
        for code, name, amount in ((catalog.pro, "Pro", PRO_AMOUNT), (catalog.free, "Free", 0)):
            plan = {"code": code, "name": name, "currency": "USD", "amount": amount, "interval": "month"}
            http.post(f"{sub}/v1/plans", json=plan).raise_for_status()
        http.patch(f"{sub}/v1/settings", json={"free_plan_code": catalog.free}).raise_for_status()
        http.put(f"{stack.url('dunning')}/v1/dunning-policy", json=DUNNING_POLICY).raise_for_status()
    return catalog


def create_clock(stack: Stack, frozen_time: str) -> str:
    with api_client() as http:
        response = http.post(f"{stack.url('subscription')}/v1/test-clocks", json={"frozen_time": frozen_time})
        response.raise_for_status()
        return response.json()["id"]


def _worth_retrying(response: httpx.Response) -> bool:
    in_use = response.status_code == 409 and response.json().get("code") == "idempotency_key_in_use"
    return response.status_code >= 500 or in_use


def _last_answer(state: RetryCallState) -> httpx.Response:
    assert state.outcome is not None  # tenacity calls this only after an attempt
    return state.outcome.result()


async def _seed(
    sub_url: str, clock: str | list[str], plan: str, count: int, clients: int, declining_every: int
) -> list[tuple[str, str]]:
    created: list[tuple[str, str] | None] = [None] * count
    queue = iter(range(count))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=sub_url, headers=headers, timeout=300, limits=limits) as http:
        # A 5xx under load, or a connection dropped on a busy machine, is retried as a real importer
        # would, under one Idempotency-Key per logical POST: a retry never makes a second customer
        # (it gets the first answer, or waits while the first attempt still runs). The last answer
        # is kept either way.
        @retry(
            retry=retry_if_result(_worth_retrying) | retry_if_exception_type(httpx.TransportError),
            stop=stop_after_attempt(5),
            wait=wait_incrementing(start=0.5, increment=0.5),
            retry_error_callback=_last_answer,
        )
        async def send(path: str, body: dict[str, Any], key: str) -> httpx.Response:
            return await http.post(path, json=body, headers={"Idempotency-Key": key})

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = await send(path, body, uuid.uuid4().hex)
            response.raise_for_status()
            return response.json()

        async def client() -> None:
            for n in queue:
                declining = bool(declining_every) and n % declining_every == 0
                customer = await post(
                    "/v1/customers",
                    {
                        "email": f"bench{n}@example.com",
                        "name": f"Bench {n}",
                        "currency": "USD",
                        "payment_method": "pm_test_declined" if declining else "pm_test_ok",
                        "test_clock_id": clock[n] if isinstance(clock, list) else clock,
                    },
                )
                subscription = await post("/v1/subscriptions", {"customer_id": customer["id"], "plan_code": plan})
                created[n] = (customer["id"], subscription["id"])

        await asyncio.gather(*(client() for _ in range(clients)))
    return [c for c in created if c is not None]


def seed_subscriptions(
    stack: Stack, clock: str | list[str], plan: str, count: int, *, clients: int = 16, declining_every: int = 0
) -> tuple[list[tuple[str, str]], float]:
    """Create `count` customers, each with a subscription to `plan`, on `clock` (or on clock[n] for
    the n-th); every `declining_every`-th customer has the sandbox's declining card. Returns
    (customer id, subscription id) pairs and the seconds it took."""
    began = time.perf_counter()
    created = asyncio.run(_seed(stack.url("subscription"), clock, plan, count, clients, declining_every))
    return created, time.perf_counter() - began
