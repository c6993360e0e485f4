"""(e) Usage ingestion through the HTTP API against the raw COPY ceiling, on the benchmark's stack,
then the invoice run over the ingested usage checked against SQL.

1. On the stack (invoicing's API with N uvicorn workers), create a metered plan and customers on a
   test clock at 2026-06-01.
2. Client processes (each an asyncio loop with a few requests in flight) send pre-built batches of
   1000 events to POST /v1/usage-events; about 1% of each batch repeats ids of an earlier batch
   (they must come back as duplicates). Wall time, per-batch latency, CPU and peak RSS are recorded.
3. On the same database, the same unique rows are loaded with asyncpg COPY into a table shaped like
   usage_events (same columns and indexes), and into one without indexes: the ceiling.
4. The clock advances to 2026-07-01: each subscription's renewal invoice carries its June usage. The
   usage lines are compared with an independent SQL aggregate over usage_events.

The figures (a dict) say what was measured and under what other load.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import orjson

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

from tenure_shared.db import connect_raw, service_database_url
from tenure_tools.bench.common import API_KEY, machine_busy_seconds, percentile, wait_clock
from tenure_tools.stack import Stack

UNIT_AMOUNT = 8000  # 80.00 per unit
VALUES = (0.25, 0.5, 0.75, 1, 1.5, 2)  # exact in binary: the JSON numbers carry no rounding
CLOCK_START = "2026-06-01T00:00:00Z"
CLOCK_RENEWAL = "2026-07-01T00:00:00Z"
REPEAT_DISTANCE = 20  # batches between an event and its repeat


@dataclass(frozen=True)
class Plan:
    """What to send: `batches` batches of `batch_size` events, `repeats` of them old ids."""

    customers: list[str]
    metric: str
    batches: int
    batch_size: int
    repeats: int
    clients: int
    in_flight: int
    seed: int
    order: str = "time"  # time | random


def _batch_events(plan: Plan, index: int) -> list[tuple[str, str, str, str, float]]:
    """The new events of batch `index`: (id, customer, metric, timestamp, value), deterministic.

    `order="time"` (the default) is a live stream: timestamps move through June as batches go by
    and ids are time-ordered (ULID-like: a sequence prefix, then random bits), so indexes grow at
    their ends. `order="random"` is the worst case: random ids and random June timestamps.
    """
    rng = random.Random(plan.seed * 1_000_003 + index)
    fresh = plan.batch_size - (plan.repeats if index else 0)
    events = []
    for n in range(fresh):
        if plan.order == "time":
            second = (index * plan.batch_size + n) * (30 * 86_400) // (plan.batches * plan.batch_size)
            event_id = f"ev_{index:07d}{n:04d}{rng.getrandbits(48):012x}"
        else:
            second = rng.randrange(30 * 86_400)
            event_id = f"ev_{rng.getrandbits(64):016x}{rng.getrandbits(32):08x}"
        day, rest = divmod(second, 86_400)
        events.append(
            (
                event_id,
                plan.customers[rng.randrange(len(plan.customers))],
                plan.metric,
                f"2026-06-{day + 1:02d}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}Z",
                VALUES[rng.randrange(len(VALUES))],
            )
        )
    return events


def _body(events: list[tuple]) -> bytes:
    return orjson.dumps(
        {"events": [{"id": i, "customer_id": c, "metric_code": m, "timestamp": t, "value": v} for i, c, m, t, v in events]}
    )


def _vm_peak_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def _client(plan: Plan, number: int, url: str, start_at: Event, results: Queue[dict[str, Any]]) -> None:
    """One load-generating process: builds its batches first, then sends them with `in_flight` requests open."""
    mine = list(range(number, plan.batches, plan.clients))
    bodies = []
    for index in mine:
        events = _batch_events(plan, index)
        if index:  # resend a few events of an earlier batch (likely done: repeats come late, as in life)
            events = _batch_events(plan, max(0, index - REPEAT_DISTANCE))[: plan.repeats] + events
        bodies.append(_body(events))

    async def run() -> dict:
        latencies: list[float] = []
        accepted = duplicates = rejected = 0
        queue = list(reversed(bodies))
        async with httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
            timeout=120,
            limits=httpx.Limits(max_connections=plan.in_flight),
        ) as http:

            async def worker() -> None:
                nonlocal accepted, duplicates, rejected
                while queue:
                    body = queue.pop()
                    began = time.perf_counter()
                    response = await http.post("/v1/usage-events", content=body)
                    latencies.append(time.perf_counter() - began)
                    response.raise_for_status()
                    reply = response.json()
                    accepted += reply["accepted"]
                    duplicates += reply["duplicates"]
                    rejected += reply["rejected"]

            start_at.wait()
            cpu_at_start = _cpu_seconds(os.getpid())
            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(plan.in_flight)))
            return {
                "latencies": latencies,
                "accepted": accepted,
                "duplicates": duplicates,
                "rejected": rejected,
                "seconds": time.perf_counter() - began,
                "cpu_at_start": cpu_at_start,
            }

    outcome = asyncio.run(run())
    outcome["peak_rss_kib"] = _vm_peak_kib(os.getpid())
    outcome["cpu_seconds"] = _cpu_seconds(os.getpid()) - outcome.pop("cpu_at_start")
    results.put(outcome)


async def _copy_ceiling(url: str, plan: Plan) -> dict[str, Any]:
    """Load the same unique rows with COPY: into a table shaped like usage_events (same columns and
    indexes) and into one without indexes. Only the COPY calls are timed."""
    conn = await connect_raw(url)
    figures: dict[str, Any] = {}
    try:
        for table, like in (("bench_copy_same_shape", "INCLUDING ALL"), ("bench_copy_no_indexes", "INCLUDING DEFAULTS")):
            await conn.execute(f"DROP TABLE IF EXISTS {table}")
            await conn.execute(f"CREATE TABLE {table} (LIKE usage_events {like})")
            rows = elapsed = 0.0
            chunk: list[tuple] = []

            async def flush(records: list[tuple], table: str = table) -> float:
                began = time.perf_counter()
                await conn.copy_records_to_table(
                    table,
                    records=records,
                    columns=["id", "customer_id", "subscription_id", "metric_code", "occurred_at", "value", "properties"],
                )
                return time.perf_counter() - began

            for index in range(plan.batches):
                for event_id, customer, metric, stamp, value in _batch_events(plan, index):
                    chunk.append((event_id, customer, None, metric, datetime.fromisoformat(stamp), Decimal(repr(value)), None))
                if len(chunk) >= 100_000:
                    elapsed += await flush(chunk)
                    rows += len(chunk)
                    chunk = []
            if chunk:
                elapsed += await flush(chunk)
                rows += len(chunk)
            figures[table] = {"rows": int(rows), "seconds": round(elapsed, 3), "rows_per_second": round(rows / elapsed)}
            await conn.execute(f"DROP TABLE {table}")
    finally:
        await conn.close()
    return figures


async def _sql_truth(url: str, metric: str) -> dict[str, Any]:
    conn = await connect_raw(url)
    try:
        rows = await conn.fetch(
            "SELECT customer_id, sum(value) AS quantity, round(sum(value) * $2)::bigint AS amount, count(*) AS events"
            " FROM usage_events WHERE metric_code = $1 AND occurred_at >= '2026-06-01' AND occurred_at < '2026-07-01'"
            " GROUP BY customer_id",
            metric,
            UNIT_AMOUNT,
        )
        stored = await conn.fetchval("SELECT count(*) FROM usage_events WHERE metric_code = $1", metric)
    finally:
        await conn.close()
    return {
        "per_customer": {r["customer_id"]: (r["quantity"], r["amount"]) for r in rows},
        "stored": stored,
        "events": sum(r["events"] for r in rows),
    }


def _setup(stack: Stack, customers: int) -> tuple[str, str, list[str], dict[str, str]]:
    http = httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=60)
    sub_url, inv_url = stack.url("subscription"), stack.url("invoicing")
    tag = uuid.uuid4().hex[:6]
    metric, plan = f"bench_hours_{tag}", f"bench-metered-{tag}"
    http.post(f"{sub_url}/v1/metrics", json={"code": metric, "name": "Support hours", "aggregation": "sum"}).raise_for_status()
    http.post(
        f"{sub_url}/v1/plans",
        json={
            "code": plan,
            "name": "Metered support",
            "currency": "USD",
            "amount": 0,
            "interval": "month",
            "metered_charges": [{"metric_code": metric, "unit_amount": UNIT_AMOUNT}],
        },
    ).raise_for_status()
    clock = http.post(f"{sub_url}/v1/test-clocks", json={"frozen_time": CLOCK_START}).json()["id"]
    ids, subscriptions = [], {}
    for n in range(customers):
        customer = http.post(
            f"{sub_url}/v1/customers",
            json={
                "email": f"bench{n}@example.com",
                "name": f"Bench {n}",
                "currency": "USD",
                "payment_method": "pm_test_ok",
                "test_clock_id": clock,
            },
        ).json()["id"]
        subscription = http.post(f"{sub_url}/v1/subscriptions", json={"customer_id": customer, "plan_code": plan})
        subscriptions[customer] = subscription.json()["id"]
        ids.append(customer)
    wait_clock(http, sub_url, clock)
    # invoicing must know the metric (it validates events against it) before the run.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = http.post(
            f"{inv_url}/v1/usage-events",
            json={
                "events": [{"id": f"probe-{tag}", "customer_id": "cus_probe", "metric_code": metric, "timestamp": CLOCK_START}]
            },
        ).json()
        if probe["rejected"]:
            break
        time.sleep(1)
    http.close()
    return metric, clock, ids, subscriptions


def _process_groups(stack: Stack) -> dict[str, list[int]]:
    invoicing_api = stack.processes[("invoicing", "api")].running().pid
    groups = {
        "invoicing_api": [invoicing_api, *_children(invoicing_api)],
        "invoicing_worker": [stack.processes[("invoicing", "worker")].running().pid],
        "other_services": [p.running().pid for key, p in stack.processes.items() if key[0] != "invoicing" and p.alive()],
    }
    if stack.postgres is not None:
        postmaster = int((stack.postgres.data_dir / "postmaster.pid").read_text().split()[0])
        groups["postgres"] = [postmaster, *_children(postmaster)]
    if stack.broker is not None and stack.broker.process is not None:
        groups["broker"] = [stack.broker.process.pid]
    return groups


def usage_ingestion(
    stack: Stack,
    *,
    events: int = 1_000_000,
    batch_size: int = 1000,
    clients: int = 2,
    in_flight: int = 4,
    customers: int = 100,
    repeats: int = 10,
    seed: int = 5,
    order: str = "time",
) -> dict[str, Any]:
    """Ingest `events` unique usage events through the API, load the same rows with COPY, and bill them."""
    api_workers = stack.api_workers.get("invoicing", 1)
    report: dict[str, Any] = {"load_before": os.getloadavg()}
    metric, clock, customer_ids, subscriptions = _setup(stack, customers)
    batches = -(-max(0, events - batch_size) // (batch_size - repeats)) + 1
    plan = Plan(customer_ids, metric, batches, batch_size, repeats, clients, in_flight, seed, order)
    unique = batch_size + (batches - 1) * (batch_size - repeats)
    groups = _process_groups(stack)
    cpu_before = {g: sum(_cpu_seconds(p) for p in pids) for g, pids in groups.items()}

    start_at = multiprocessing.Event()
    results: Queue[dict[str, Any]] = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=_client, args=(plan, n, stack.url("invoicing"), start_at, results)) for n in range(clients)
    ]
    for proc in procs:
        proc.start()
    time.sleep(2 + batches / 400)  # let the clients build their bodies before the clock starts
    busy_before = machine_busy_seconds()
    began = time.perf_counter()
    start_at.set()
    outcomes = [results.get() for _ in procs]
    wall = time.perf_counter() - began
    busy = machine_busy_seconds() - busy_before
    for proc in procs:
        proc.join()
    groups = _process_groups(stack)
    cpu = {g: round(sum(_cpu_seconds(p) for p in pids) - cpu_before.get(g, 0.0), 2) for g, pids in groups.items()}
    cpu["bench_clients"] = round(sum(o["cpu_seconds"] for o in outcomes), 2)
    ours = sum(cpu.values())
    latencies = [x for o in outcomes for x in o["latencies"]]
    accepted = sum(o["accepted"] for o in outcomes)
    url = service_database_url(stack.server_url, "invoicing", stack.database_prefix)

    ceiling = asyncio.run(_copy_ceiling(url, plan))
    same_shape = ceiling["bench_copy_same_shape"]["rows_per_second"]
    api_rate = accepted / wall
    report.update(
        {
            "config": {
                "events_sent": batches * batch_size,
                "unique_events": unique,
                "batch_size": batch_size,
                "batches": batches,
                "repeated_ids_per_batch": repeats,
                "client_processes": clients,
                "requests_in_flight_per_client": in_flight,
                "invoicing_api_workers": api_workers,
                "customers": customers,
                "event_order": order,
            },
            "ingestion": {
                "seconds": round(wall, 3),
                "accepted": accepted,
                "duplicates": sum(o["duplicates"] for o in outcomes),
                "rejected": sum(o["rejected"] for o in outcomes),
                "events_per_second": round(api_rate),
                "sent_events_per_second": round(batches * batch_size / wall),
                "batches_per_second": round(batches / wall, 1),
                "batch_latency_ms": {
                    "p50": round(percentile(latencies, 0.50) * 1000, 1),
                    "p99": round(percentile(latencies, 0.99) * 1000, 1),
                    "max": round(max(latencies) * 1000, 1),
                    "mean": round(statistics.fmean(latencies) * 1000, 1),
                },
            },
            "copy_ceiling": ceiling,
            "ratio_to_copy_ceiling": round(api_rate / same_shape, 3),
            "ratio_to_copy_without_indexes": round(api_rate / ceiling["bench_copy_no_indexes"]["rows_per_second"], 3),
            "cpu_seconds_during_ingestion": cpu,
            "machine_cpu_seconds_during_ingestion": round(busy, 2),
            "other_load_cpu_seconds": round(max(0.0, busy - ours), 2),
            "peak_rss_mib": {
                **{
                    f"{g}:{pid}": round((_vm_peak_kib(pid) or 0) / 1024, 1)
                    for g, pids in groups.items()
                    if g in ("invoicing_api", "invoicing_worker", "postgres")
                    for pid in pids
                },
                **{f"bench_client:{n}": round((o["peak_rss_kib"] or 0) / 1024, 1) for n, o in enumerate(outcomes)},
            },
        }
    )
    expected_duplicates = (batches - 1) * repeats
    report["ingestion"]["correct_counts"] = accepted == unique and report["ingestion"]["duplicates"] == expected_duplicates

    # The invoice run over that data.
    http = httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=120)
    began = time.perf_counter()
    advance = f"{stack.url('subscription')}/v1/test-clocks/{clock}/advance"
    http.post(advance, json={"frozen_time": CLOCK_RENEWAL}).raise_for_status()
    wait_clock(http, stack.url("subscription"), clock)
    invoice_seconds = time.perf_counter() - began
    billed: dict[str, tuple[Decimal, int]] = {}
    for customer in customer_ids:
        params: dict[str, str | int] = {"customer_id": customer, "limit": 100}
        invoices = http.get(f"{stack.url('invoicing')}/v1/invoices", params=params).json()["data"]
        lines = [line for invoice in invoices for line in invoice["lines"] if line["kind"] == "usage"]
        billed[customer] = (
            sum((Decimal(line["quantity_decimal"]) for line in lines), Decimal(0)),
            sum(line["amount"] for line in lines),
        )
    http.close()
    truth = asyncio.run(_sql_truth(url, metric))
    mismatches = [c for c in customer_ids if billed[c] != truth["per_customer"].get(c, (Decimal(0), 0))]
    report["invoice_run"] = {
        "seconds": round(invoice_seconds, 2),
        "invoices_checked": len(customer_ids),
        "usage_lines_total_amount": sum(a for _, a in billed.values()),
        "sql_aggregate_total_amount": sum(a for _, a in truth["per_customer"].values()),
        "usage_lines_total_quantity": str(sum(q for q, _ in billed.values())),
        "sql_aggregate_total_quantity": str(sum(q for q, _ in truth["per_customer"].values())),
        "events_in_june": truth["events"],
        "events_stored": truth["stored"],
        "mismatched_customers": mismatches,
        "correct": not mismatches and truth["stored"] == unique,
    }
    report["load_after"] = os.getloadavg()
    return report
