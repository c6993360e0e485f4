"""The retention report against a brute-force recomputation from the raw events on the broker.

A population of customers lives four months on one test clock through the public API with every kind
of movement (new, upgrade, downgrade, cancel now and at term end, pause and resume, reactivation,
a second subscription after churn, a move to the free plan by dunning, trials, fortnightly, quarterly and yearly
plans). The test then reads every subscription.* and invoice.* event of that clock off the real
topics and recomputes each figure with the simplest code it can, independently of health-score-svc,
and both must agree to the cent.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from aiokafka import AIOKafkaConsumer, TopicPartition

from tenure_shared.events import INVOICES, SUBSCRIPTIONS, TOPIC_PARTITIONS
from tests.support.client import TenureClient
from tests.support.lifecycle import customer, plan

WINDOWS = [
    ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"),
    ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
    ("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"),
    ("2026-01-15T00:00:00Z", "2026-05-01T00:00:00Z"),
    ("2026-02-10T00:00:00Z", "2026-03-10T00:00:00Z"),
]


def clock_events(bootstrap: str, clock: str) -> list[dict]:
    """Every event of the clock on the subscription and invoice topics, each partition in its order."""

    async def read() -> list[dict]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for topic in (SUBSCRIPTIONS, INVOICES) for p in range(TOPIC_PARTITIONS)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            found, idle = [], 0
            while idle < 3:  # the clock is ready, so every event was sent
                batch = await consumer.getmany(timeout_ms=300)
                records = [r for rs in batch.values() for r in rs]
                idle = 0 if records else idle + 1
                found += [json.loads(r.value) for r in sorted(records, key=lambda r: (r.topic, r.partition, r.offset))]
            return [e for e in found if e.get("tenureclock") == clock]
        finally:
            await consumer.stop()

    return asyncio.run(read())


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def monthly_mrr(data: dict) -> Fraction:
    if data["status"] in ("trialing", "paused", "cancelled", "expired") or data["on_free_plan"]:
        return Fraction(0)
    assert not data["discounts"]  # this population has none
    amount, count = data["recurring_amount"], data["plan_interval_count"]
    if data["plan_interval"] == "month":
        return Fraction(amount, count)
    if data["plan_interval"] == "year":
        return Fraction(amount, 12 * count)
    if data["plan_interval"] == "week":
        return Fraction(amount * 52, 12 * count)
    return Fraction(amount * 365, 12 * count)


def cents(value: Fraction) -> int:
    return int((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def four_places(numerator: Fraction, denominator: Fraction) -> str | None:
    if denominator == 0:
        return None
    value = Fraction(numerator) / Fraction(denominator)
    return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def brute_force(events: list[dict], start: datetime, end: datetime) -> dict:
    subscription_events = defaultdict(list)  # subscription id -> its events, in order
    owner = {}
    for e in events:
        if e["type"].startswith("subscription."):
            subscription_events[e["data"]["id"]].append(e)
            owner[e["data"]["id"]] = e["data"]["customer_id"]

    def last_at(sub: str, t: datetime, *, strictly_before: bool = False) -> dict | None:
        found = None
        for e in subscription_events[sub]:
            if instant(e["time"]) < t or (not strictly_before and instant(e["time"]) == t):
                found = e
        return found

    def mrr(sub: str, t: datetime) -> Fraction:
        e = last_at(sub, t)
        return monthly_mrr(e["data"]) if e else Fraction(0)

    def paused(sub: str, t: datetime) -> bool:
        e = last_at(sub, t)
        return bool(e and e["data"]["status"] == "paused")

    customers = defaultdict(list)
    for sub, who in owner.items():
        customers[who].append(sub)
    names = ("new", "reactivation", "resumed", "expansion", "contraction", "churn", "paused")
    movements, counts = dict.fromkeys(names, Fraction(0)), dict.fromkeys(names, 0)
    total_start = total_end = Fraction(0)
    with_start = 0
    for subs in customers.values():
        s = sum(mrr(sub, start) for sub in subs)
        n = sum(mrr(sub, end) for sub in subs)
        total_start, total_end, with_start = total_start + s, total_end + n, with_start + (s > 0)
        had_before = any(
            instant(e["time"]) < start and monthly_mrr(e["data"]) > 0 for sub in subs for e in subscription_events[sub]
        )
        kind = None
        if s == 0 and n > 0:
            kind = "resumed" if any(paused(sub, start) for sub in subs) else "reactivation" if had_before else "new"
        elif s > 0 and n == 0:
            kind = "paused" if any(paused(sub, end) for sub in subs) else "churn"
        elif s > 0 and n > s:
            kind = "expansion"
        elif 0 < n < s:
            kind = "contraction"
        if kind:
            movements[kind] += abs(n - s)
            counts[kind] += 1

    voided = {e["data"]["source_event_id"] for e in events if e["type"] == "invoice.voided"}
    due = renewed = 0
    due_value = renewed_value = Fraction(0)
    for sub, sub_events in subscription_events.items():
        ends = {instant(e["data"]["current_period_end"]) for e in sub_events if e["data"]["current_period_end"]}
        for date in sorted(d for d in ends if start <= d < end):
            before = last_at(sub, date, strictly_before=True)
            if before is None or instant(before["data"]["current_period_end"] or "1970-01-01T00:00:00Z") != date:
                continue
            value = monthly_mrr(before["data"])
            if value == 0:
                continue
            ok = any(
                e["type"] == "subscription.renewed" and instant(e["time"]) == date and e["id"] not in voided for e in sub_events
            )
            due, due_value = due + 1, due_value + value
            renewed, renewed_value = renewed + ok, renewed_value + (value if ok else 0)

    reasons = {e["id"]: e["data"]["billing_reason"] for e in events if e["type"].startswith("subscription.")}
    issued, final_status = {}, {}
    for e in events:
        if e["type"].startswith("invoice."):
            issued.setdefault(e["data"]["id"], (instant(e["time"]), e["data"]))
            final_status[e["data"]["id"]] = e["data"]["status"]
    deals = [
        data["total"]
        for invoice_id, (at, data) in issued.items()
        if start <= at < end
        and final_status[invoice_id] == "paid"
        and reasons.get(data["source_event_id"]) in ("subscription_create", "subscription_cycle")
    ]
    lost = movements["contraction"] + movements["churn"]
    return {
        "mrr_start": cents(total_start),
        "mrr_end": cents(total_end),
        "movements": {k: cents(v) for k, v in movements.items()},
        "customers": counts,
        "grr": four_places(total_start - lost, total_start),
        "nrr": four_places(total_start + movements["expansion"] - lost, total_start),
        "logo_churn": four_places(counts["churn"], with_start),
        "renewal_rate": {"by_count": four_places(renewed, due), "by_value": four_places(renewed_value, due_value)},
        "average_deal_value": cents(Fraction(sum(deals), len(deals))) if deals else None,
        "free_plan_moves": sum(
            1 for e in events if e["type"] == "subscription.moved_to_free_plan" and start <= instant(e["time"]) < end
        ),
    }


def test_the_report_agrees_with_a_brute_force_recomputation_from_the_raw_events(api: TenureClient, stack, catalog):
    api.put("dunning", "/v1/dunning-policy", {"retry_after_days": [1, 3, 5], "final_action": "move_to_free_plan"})
    monthly = {amount: plan(api, f"M{amount}", amount) for amount in (5000, 10000, 20000, 30000)}
    fortnightly, yearly = (
        plan(api, "Fortnightly", 5000, interval="week", interval_count=2),
        plan(api, "Yearly", 120000, interval="year"),
    )
    quarterly, trial = plan(api, "Quarterly", 27000, interval="month", interval_count=3), plan(api, "Trial", 10000, trial_days=14)
    clock = api.create_clock("2026-01-01T00:00:00Z")

    def subscribe(who: str, plan_code: str) -> str:
        return api.post("subscription", "/v1/subscriptions", {"customer_id": who, "plan_code": plan_code})["id"]

    def act(sub: str, action: str, body: dict | None = None) -> None:
        api.post("subscription", f"/v1/subscriptions/{sub}/{action}", body or {})

    people = [customer(api, clock) for _ in range(60)]
    subs = [subscribe(who, monthly[(5000, 10000, 20000, 30000)[i % 4]]) for i, who in enumerate(people[:46])]
    subs += [subscribe(who, fortnightly) for who in people[46:49]]
    subs += [subscribe(who, yearly) for who in people[49:52]]
    subs += [subscribe(who, quarterly) for who in people[52:55]]
    subs += [subscribe(who, trial) for who in people[55:60]]
    api.advance(clock, "2026-02-10T00:00:00Z")

    for i in range(0, 10):
        if i % 4 != 3:  # an upgrade of every monthly plan below 300.00
            act(subs[i], "changes", {"plan_code": monthly[30000], "when": "now"})
    for i in range(10, 20):
        if i % 4 != 0:  # a downgrade of every monthly plan above 50.00
            act(subs[i], "changes", {"plan_code": monthly[5000], "when": "now"})
    for sub in subs[20:30]:
        act(sub, "cancel", {"when": "now", "unused_amount": "none"})
    for sub in subs[30:34]:
        act(sub, "cancel", {"when": "end_of_term"})
    for sub in subs[34:40]:
        act(sub, "pause")
    for who in people[40:46]:
        api.patch("subscription", f"/v1/customers/{who}", {"payment_method": "pm_test_declined"})
    api.advance(clock, "2026-03-10T00:00:00Z")

    for sub in subs[34:37]:
        act(sub, "resume")
    for sub in subs[20:23]:
        act(sub, "reactivate")
    newcomers = [customer(api, clock) for _ in range(6)]
    for who in newcomers:
        subscribe(who, monthly[10000])
    api.advance(clock, "2026-04-05T00:00:00Z")

    for who in people[23:26]:
        subscribe(who, monthly[20000])  # back after churning, on a new subscription
    api.advance(clock, "2026-05-01T00:00:00Z")

    events = clock_events(stack.kafka_bootstrap, clock)
    assert {e["type"] for e in events} >= {
        "subscription.changed",
        "subscription.cancelled",
        "subscription.paused",
        "subscription.resumed",
        "subscription.reactivated",
        "subscription.moved_to_free_plan",
        "subscription.trial_ended",
        "invoice.voided",
    }
    seen = dict.fromkeys(("new", "reactivation", "resumed", "expansion", "contraction", "churn", "paused"), 0)
    for start, end in WINDOWS:
        report = api.get("health-score", "/v1/reports/retention", params={"from": start, "to": end, "test_clock_id": clock})
        expected = brute_force(events, instant(start), instant(end))
        assert {k: report[k] for k in expected} == expected, (start, end)
        seen = {k: n + report["customers"][k] for k, n in seen.items()}
    assert all(seen.values()), seen  # every kind of movement happened in some window
    assert sum(e["type"] == "subscription.moved_to_free_plan" for e in events) == 6
