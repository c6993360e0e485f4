"""A peer's outage loses nothing: work waits for the peer and then happens exactly once.

1. credit-svc's database refuses connections for ~8 s while five subscriptions are created:
   invoicing's credit call fails transiently, the events wait unconsumed on their partitions, and
   afterwards every subscription has exactly one paid invoice and nobody has a dead letter.
2. invoicing's API is down for ~12 s when a dunning retry falls due on a test clock: the retry
   waits out its back-off (never five tries back to back, never `failed`), the clock's coordinator
   holds the clock `advancing` until the retry has run, and it happens once.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import httpx

from tenure_shared.db import connect_raw, service_database_url
from tenure_tools.services import SERVICES
from tests.support.client import TenureClient
from tests.support.lifecycle import customer


async def _allow_connections(stack, database: str, allowed: bool) -> None:
    admin = await connect_raw(service_database_url(stack.database_url, "postgres", prefix=""))
    try:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await admin.close()


def _internal(stack, service: str, path: str, **params) -> httpx.Response:
    headers = {"Authorization": f"Bearer {stack.internal_token}"}
    return httpx.get(stack.url(service) + path, headers=headers, params=params, timeout=10)


def _dead_letters_of(stack, customers: set[str]) -> list[dict]:
    found = []
    for service in SERVICES:
        rows = _internal(stack, service, "/internal/dead-letters", status="dead_lettered", limit=1000).json()["data"]
        found += [r for r in rows if (r["envelope"] or {}).get("subject") in customers]
    return found


def _restart_if_exited(process, *, within: float) -> None:
    """A worker whose lock connection was cut stops (another copy may take over); its supervisor,
    here the test, as `tenure dev` or a container runtime would, starts it again."""
    try:
        process.process.wait(timeout=within)
    except Exception:
        return
    process.start()


def test_a_database_outage_of_a_peer_delays_invoices_and_loses_none(api: TenureClient, stack, catalog):
    clock = api.create_clock("2026-03-01T00:00:00Z")
    customers = [customer(api, clock) for _ in range(5)]
    api.wait_ready(clock)
    credit_db = f"{stack.database_prefix}credit"
    asyncio.run(_allow_connections(stack, credit_db, False))
    try:
        subscriptions = [
            api.post("subscription", "/v1/subscriptions", {"customer_id": c, "plan_code": catalog["pro"]})["id"]
            for c in customers
        ]
        time.sleep(8)  # the outage itself
    finally:
        asyncio.run(_allow_connections(stack, credit_db, True))
    _restart_if_exited(stack.processes[("credit", "worker")], within=20)

    api.wait_ready(clock, timeout=180)
    for subscription_id in subscriptions:
        invoices = api.invoices(subscription_id=subscription_id)
        assert [(i["status"], i["amount_paid"]) for i in invoices] == [("paid", 4900)], subscription_id
    assert _dead_letters_of(stack, set(customers)) == []


def test_a_dunning_retry_waits_for_a_peer_that_is_down_and_then_happens_once(api: TenureClient, stack, catalog):
    api.put("dunning", "/v1/dunning-policy", {"retry_after_days": [1, 3, 5], "final_action": "move_to_free_plan"})
    clock = api.create_clock("2026-03-01T00:00:00Z")
    customer_id = customer(api, clock, payment_method="pm_test_fail_first_1")
    subscription_id = api.post("subscription", "/v1/subscriptions", {"customer_id": customer_id, "plan_code": catalog["pro"]})[
        "id"
    ]
    api.wait_ready(clock)
    [invoice] = api.invoices(subscription_id=subscription_id)
    [case] = api.get("dunning", "/v1/dunning-cases", params={"invoice_id": invoice["id"]})["data"]
    assert (case["status"], case["next_retry_at"]) == ("retrying", "2026-03-02T00:00:00Z")

    invoicing_api = stack.processes[("invoicing", "api")]
    invoicing_api.stop()
    down_since = time.monotonic()
    try:
        time.sleep(7)  # late in the outage, so the retry's back-off outlasts it and the coordinator must wait
        # What the clock's coordinator asks of dunning at 03-02, while invoicing cannot answer.
        ran = httpx.post(
            stack.url("dunning") + f"/internal/test-clocks/{clock}/run-due",
            json={"now": "2026-03-02T00:00:00Z"},
            headers={"Authorization": f"Bearer {stack.internal_token}"},
            timeout=30,
        ).json()
        assert ran["ran"] == 1 and ran["waiting_until"] is not None, ran
        [job] = [
            j for j in _internal(stack, "dunning", "/internal/jobs", status="pending").json()["data"] if j["clock_id"] == clock
        ]
        assert (job["attempts"], job["status"]) == (1, "pending"), "one try, then a back-off; never five in one pass"
        assert "invoicing did not answer" in job["last_error"]
        next_attempt_at = datetime.fromisoformat(job["next_attempt_at"])
        api.post("subscription", f"/v1/test-clocks/{clock}/advance", {"frozen_time": "2026-03-03T00:00:00Z"})
        time.sleep(max(0.0, 12 - (time.monotonic() - down_since)))  # the rest of the outage
        assert api.get("subscription", f"/v1/test-clocks/{clock}")["status"] == "advancing"
    finally:
        invoicing_api.start()
        stack.wait_ready()

    api.wait_ready(clock, timeout=180)
    assert datetime.now(UTC) >= next_attempt_at, "the clock was not ready before the retry could run"
    [case] = api.get("dunning", "/v1/dunning-cases", params={"invoice_id": invoice["id"]})["data"]
    assert case["status"] == "recovered"
    assert [(a["at"], a["outcome"]) for a in case["attempts"]] == [
        ("2026-03-01T00:00:00Z", "failed"),
        ("2026-03-02T00:00:00Z", "succeeded"),
    ]
    [paid] = api.invoices(subscription_id=subscription_id)
    assert (paid["status"], paid["amount_paid"]) == ("paid", 4900)
    payments = api.get("invoicing", "/v1/payments", params={"invoice_id": invoice["id"]})["data"]
    assert sorted(p["status"] for p in payments) == ["failed", "succeeded"]
    assert [
        j for j in _internal(stack, "dunning", "/internal/jobs", status="failed").json()["data"] if j["clock_id"] == clock
    ] == []
