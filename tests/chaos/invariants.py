"""What must hold after the faults, counted from each service's own tables (read-only, asyncpg),
for the given test clocks only: other tests may share the stack.

`check()` returns the counts and the list of violations (empty when everything holds).
"""

from __future__ import annotations

import asyncio
import importlib
from collections import Counter
from dataclasses import dataclass, field

from tenure_shared.db import connect_raw, service_database_url
from tenure_tools.services import PACKAGES, SERVICES

# What each service consumes, as its worker subscribes to it.
CONSUMED = {service: importlib.import_module(f"{PACKAGES[service]}.config").CONSUMED_TOPICS for service in SERVICES}


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    def duplicates(self, what: str, rows) -> None:
        """Rows of (key…, n) from a GROUP BY … HAVING count(*) > 1."""
        for row in rows:
            self.violations.append(f"{what} {tuple(row)} exists {row['n']} times")

    def repeated(self, what: str, keys) -> None:
        for key, n in Counter(keys).items():
            if n > 1:
                self.violations.append(f"{what} {key} exists {n} times")


async def _fetch(stack, service: str, query: str, *args):
    connection = await connect_raw(service_database_url(stack.database_url, service, stack.database_prefix))
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


async def _check(stack, clocks: list[str]) -> Report:
    report = Report()
    fetch = _fetch

    invoices = await fetch(stack, "invoicing", "SELECT id, source_event_id FROM invoices WHERE clock_id = ANY($1)", clocks)
    report.counts["invoices"] = len(invoices)
    report.duplicates(
        "invoice for billing event",
        await fetch(
            stack,
            "invoicing",
            "SELECT source_event_id, count(*) AS n FROM invoices WHERE clock_id = ANY($1) AND source_event_id IS NOT NULL"
            " GROUP BY 1 HAVING count(*) > 1",
            clocks,
        ),
    )
    report.duplicates(
        "live invoice for subscription period and reason",
        await fetch(
            stack,
            "invoicing",
            "SELECT subscription_id, billing_reason, period_start, count(*) AS n FROM invoices"
            " WHERE clock_id = ANY($1) AND status <> 'void' GROUP BY 1, 2, 3 HAVING count(*) > 1",
            clocks,
        ),
    )
    payments = await fetch(
        stack,
        "invoicing",
        "SELECT p.attempt_key FROM payments p JOIN invoices i ON i.id = p.invoice_id WHERE i.clock_id = ANY($1)",
        clocks,
    )
    report.counts["payments"] = len(payments)
    report.repeated("payment attempt", (p["attempt_key"] for p in payments))

    notes = await fetch(
        stack,
        "credit",
        "SELECT n.id, n.source_key, n.amount, n.remaining, n.status,"
        " coalesce((SELECT sum(a.amount) FROM credit_applications a WHERE a.credit_note_id = n.id AND a.reversed_at IS NULL), 0)"
        "   AS applied,"
        " coalesce((SELECT sum(r.amount) FROM refunds r WHERE r.credit_note_id = n.id AND r.status <> 'failed'), 0) AS refunded"
        " FROM credit_notes n WHERE n.clock_id = ANY($1)",
        clocks,
    )
    report.counts["credit_notes"] = len(notes)
    report.repeated("credit note for request", (r["source_key"] for r in notes if r["source_key"]))
    for note in notes:
        if note["status"] != "void" and note["amount"] != note["remaining"] + note["applied"] + note["refunded"]:
            report.violations.append(f"credit note {note['id']} does not balance: {dict(note)}")

    cases = await fetch(stack, "dunning", "SELECT invoice_id FROM dunning_cases WHERE clock_id = ANY($1)", clocks)
    report.counts["dunning_cases"] = len(cases)
    report.repeated("dunning case for invoice", (c["invoice_id"] for c in cases))
    invoice_ids = {i["id"] for i in invoices}
    report.violations += [
        f"dunning case for unknown invoice {c['invoice_id']}" for c in cases if c["invoice_id"] not in invoice_ids
    ]

    subscriptions = await fetch(
        stack,
        "subscription",
        "SELECT s.customer_id FROM subscriptions s JOIN customers c ON c.id = s.customer_id WHERE c.test_clock_id = ANY($1)",
        clocks,
    )
    report.counts["subscriptions"] = len(subscriptions)
    customers = await fetch(stack, "subscription", "SELECT count(*) AS n FROM customers WHERE test_clock_id = ANY($1)", clocks)
    report.counts["customer_rows"] = customers[0]["n"]
    report.repeated("subscription of customer", (s["customer_id"] for s in subscriptions))

    moves = await fetch(
        stack,
        "subscription",
        "SELECT t.subscription_id FROM subscription_timeline t JOIN subscriptions s ON s.id = t.subscription_id"
        " JOIN customers c ON c.id = s.customer_id WHERE t.event_type = 'moved_to_free_plan' AND c.test_clock_id = ANY($1)",
        clocks,
    )
    report.counts["plan_moves"] = len(moves)
    report.repeated("move to the free plan of subscription", (m["subscription_id"] for m in moves))

    await _check_events(stack, clocks, report)
    return report


async def _check_events(stack, clocks: list[str], report: Report) -> None:
    produced: dict[str, set[str]] = {}
    for service in SERVICES:
        rows = await _fetch(
            stack, service, "SELECT event_id, topic, published_at FROM outbox_messages WHERE clock_id = ANY($1)", clocks
        )
        report.violations += [f"{service} outbox row {r['event_id']} never sent" for r in rows if r["published_at"] is None]
        for row in rows:
            produced.setdefault(row["topic"], set()).add(row["event_id"])
    report.counts["events_produced"] = sum(len(ids) for ids in produced.values())
    for service in SERVICES:
        failed = await _fetch(
            stack,
            service,
            "SELECT id, kind, last_error FROM scheduled_jobs WHERE clock_id = ANY($1) AND status = 'failed'",
            clocks,
        )
        report.violations += [f"{service} failed job {dict(j)}" for j in failed]
        inbox = await _fetch(stack, service, "SELECT event_id, outcome FROM inbox_events WHERE clock_id = ANY($1)", clocks)
        outcomes = {r["event_id"]: r["outcome"] for r in inbox}
        stuck = ("dead_lettered", "replay_requested")
        report.violations += [f"{service} dead letter {e} ({o})" for e, o in outcomes.items() if o in stuck]
        for topic in CONSUMED[service]:
            expected = produced.get(topic, set())
            report.counts["events_checked"] += len(expected)
            missing = sorted(expected - outcomes.keys())
            report.violations += [f"{service} never consumed {topic} event {e}" for e in missing[:20]]


def check(stack, clocks: list[str]) -> Report:
    return asyncio.run(_check(stack, clocks))
