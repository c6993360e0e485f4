"""Scenario 11 of retention-examples.md: health falls, with reasons, and recovers.

Through the public API on a test clock: billing facts arrive over the bus (renewal, failed payment,
dunning), tickets, surveys and logins through the signal routes; the one churn_risk_raised is read
off the real broker's tenure.health topic.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer, TopicPartition

from tenure_shared.events import HEALTH, TOPIC_PARTITIONS
from tests.support.client import TenureClient
from tests.support.lifecycle import customer, plan


def health_events(bootstrap: str, customer_id: str) -> list[dict]:
    """Every event on tenure.health about the customer, read from the beginning of the topic."""

    async def read() -> list[dict]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [TopicPartition(HEALTH, p) for p in range(TOPIC_PARTITIONS)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            found, idle = [], 0
            while idle < 3:  # the clock is ready, so every event was sent; stop after 3 empty polls
                batch = await consumer.getmany(timeout_ms=300)
                records = [r for rs in batch.values() for r in rs]
                idle = 0 if records else idle + 1
                found += [json.loads(r.value) for r in records]
            return [e for e in found if e["subject"] == customer_id]
        finally:
            await consumer.stop()

    return asyncio.run(read())


def logins(api: TenureClient, customer_id: str, first: datetime, last: datetime) -> None:
    day, events = first, []
    while day <= last:
        events.append({"id": api.unique("login"), "customer_id": customer_id, "name": "login", "at": day.isoformat()})
        day += timedelta(days=1)
    reply = api.post("health-score", "/v1/signals/activity", {"events": events})
    assert (reply["accepted"], reply["rejected"]) == (len(events), 0)


def health(api: TenureClient, customer_id: str) -> dict:
    return api.get("health-score", f"/v1/customers/{customer_id}/health")


def test_health_falls_with_reasons_and_recovers(api: TenureClient, stack):
    api.put("dunning", "/v1/dunning-policy", {"retry_after_days": [1, 3, 5], "final_action": "move_to_free_plan"})
    clock = api.create_clock("2026-03-01T00:00:00Z")
    who = customer(api, clock)
    subscription = api.post("subscription", "/v1/subscriptions", {"customer_id": who, "plan_code": plan(api, "Team", 10000)})
    api.wait_ready(clock)

    api.advance(clock, "2026-03-28T12:00:00Z")
    logins(api, who, datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 3, 28, 9, tzinfo=UTC))
    before = health(api, who)
    assert before["status"] == "healthy", before

    api.patch("subscription", f"/v1/customers/{who}", {"payment_method": "pm_test_declined"})
    api.advance(clock, "2026-03-29T10:00:00Z")
    tickets = [
        {"id": api.unique("tkt"), "customer_id": who, "opened_at": "2026-03-29T09:00:00Z", "severity": "urgent", "status": "open"}
        for _ in range(2)
    ]
    assert api.post("health-score", "/v1/signals/tickets", {"tickets": tickets})["accepted"] == 2
    api.advance(clock, "2026-03-30T10:00:00Z")
    nps = {"id": api.unique("nps"), "customer_id": who, "kind": "nps", "score": 2, "answered_at": "2026-03-30T09:00:00Z"}
    assert api.post("health-score", "/v1/signals/surveys", {"surveys": [nps]})["accepted"] == 1

    api.advance(clock, "2026-04-03T10:00:00Z")
    [renewal] = [i for i in api.invoices(customer_id=who) if i["period_start"] == "2026-04-01T00:00:00Z"]
    assert renewal["status"] == "open"
    low = health(api, who)
    assert low["status"] in ("at_risk", "critical"), low
    assert low["score"] <= before["score"] - 30, (before["score"], low["score"])
    factors = {f["name"]: f for f in low["factors"]}
    for name in ("payment", "support", "sentiment"):
        assert factors[name]["score"] < 50, factors[name]
    assert factors["payment"]["detail"].startswith("2 failed payments in the last 30 days; a dunning case open since 2026-04-01")
    assert factors["support"]["detail"].startswith("2 open tickets (2 urgent)")
    assert factors["sentiment"]["detail"] == "Latest NPS 2 on 2026-03-30."
    assert "spread over the other factors" in factors["adoption"]["detail"]  # no usage, no users named
    raised = [e for e in health_events(stack.kafka_bootstrap, who) if e["type"] == "customer.churn_risk_raised"]
    assert len(raised) == 1
    assert raised[0]["tenureclock"] == clock and raised[0]["data"]["reasons"]

    api.patch("subscription", f"/v1/customers/{who}", {"payment_method": "pm_test_ok"})
    api.wait_ready(clock)  # invoicing has the new payment method
    api.post("invoicing", f"/v1/invoices/{renewal['id']}/pay")
    closed = [{**t, "status": "closed", "closed_at": "2026-04-03T10:00:00Z"} for t in tickets]
    assert api.post("health-score", "/v1/signals/tickets", {"tickets": closed})["updated"] == 2
    nine = {"id": api.unique("nps"), "customer_id": who, "kind": "nps", "score": 9, "answered_at": "2026-04-03T10:00:00Z"}
    api.post("health-score", "/v1/signals/surveys", {"surveys": [nine]})
    api.wait_ready(clock)
    day = datetime(2026, 4, 4, 9, tzinfo=UTC)
    while day <= datetime(2026, 4, 20, 9, tzinfo=UTC):  # daily logins return, day by day
        api.advance(clock, day.isoformat())
        logins(api, who, day, day)
        day += timedelta(days=1)
    after = health(api, who)
    assert after["score"] >= low["score"] + 20, (low["score"], after["score"])
    assert after["status"] != "critical"
    assert api.get("subscription", f"/v1/subscriptions/{subscription['id']}")["status"] == "active"
    assert len([e for e in health_events(stack.kafka_bootstrap, who) if e["type"] == "customer.churn_risk_raised"]) == 1
    history = api.list_all("health-score", f"/v1/customers/{who}/health/history")
    assert min(h["score"] for h in history) <= low["score"] and history[-1]["score"] == after["score"]
    assert after["trend"]["d30"] is not None
