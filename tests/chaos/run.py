"""One chaos run: the workload on test clocks while the faults run, then the invariants.

Used by `make chaos` (tests/chaos/test_chaos.py, hundreds of customers, every fault) and by the
short form in `make test` (tests/e2e/test_chaos_short.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from tenure_tools.services import SERVICES
from tests.chaos.faults import Fault, FaultDriver
from tests.chaos.invariants import Report, check
from tests.chaos.workload import PatientClient, Workload


def _ops_clean(stack, *, strict: bool) -> list[str]:
    """What each service's ops view still shows as stuck: unsent outbox rows, and (strict: the
    stack is ours alone) dead letters and failed jobs."""
    stuck = []
    for service in SERVICES:
        ops = httpx.get(
            stack.url(service) + "/internal/ops", headers={"Authorization": f"Bearer {stack.internal_token}"}, timeout=10
        ).json()
        if ops["outbox"]["unsent"]:
            stuck.append(f"{service}: {ops['outbox']['unsent']} unsent outbox rows")
        if strict and (ops["dead_letters"].get("dead_lettered") or ops["jobs"]["failed"]):
            stuck.append(f"{service}: dead letters {ops['dead_letters']}, failed jobs {ops['jobs']['failed']}")
    return stuck


def _settle(stack, workload: Workload, *, strict: bool, timeout: float) -> Report:
    """Wait for every clock to be ready and the ops views to be clean, then check until the
    invariants hold (consumers not driven by a clock, such as health-score, may trail a little)."""
    workload.wait_all(timeout)
    deadline = time.monotonic() + timeout
    while True:
        stuck = _ops_clean(stack, strict=strict)
        report = check(stack, workload.clock_ids)
        if not stuck and not report.violations:
            return report
        if time.monotonic() > deadline:
            report.violations += stuck
            return report
        time.sleep(1)


def run_chaos(
    stack,
    *,
    clocks: int,
    customers_per_clock: int,
    months: int,
    faults: Callable[[object], list[Fault]],
    gap: float,
    strict_ops: bool,
    settle_timeout: float = 300.0,
) -> tuple[Workload, FaultDriver, Report]:
    api = PatientClient({s: stack.url(s) for s in SERVICES}, stack.api_key)
    workload = Workload(api, customers_per_clock=customers_per_clock, clocks=clocks, months=months)
    workload.setup()
    driver = FaultDriver(stack, faults(stack), gap=gap)
    started = time.monotonic()
    driver.start()
    try:
        workload.subscribe_everyone()
        workload.run_months()
        driver.wait_faults(timeout=600)
        report = _settle(stack, workload, strict=strict_ops, timeout=settle_timeout)
        check_outcomes(workload, report)
    finally:
        driver.stop()
        stack.wait_ready()
        workload.restore()
        api.close()
    report.counts["customers"] = len(workload.customers)
    report.counts["client_retries"] = api.retries
    report.counts["seconds"] = round(time.monotonic() - started)
    return workload, driver, report


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def check_outcomes(workload: Workload, report: Report) -> None:
    """The business outcome where it is deterministic, per kind of customer."""
    api, plans = workload.api, workload.plans
    # A POST retried after a crash must not have made a second customer or subscription.
    for table in ("customer_rows", "subscriptions"):
        if report.counts[table] != len(workload.customers):
            report.violations.append(f"{report.counts[table]} {table} for {len(workload.customers)} customers created")
    months_billed = 1 + workload.months  # the first invoice, then one per month start reached
    for customer in workload.customers:
        subscription = api.get("subscription", f"/v1/subscriptions/{customer.subscription_id}")
        invoices = api.all_invoices(subscription_id=customer.subscription_id)
        where = f"{customer.kind} customer {customer.id}"
        if customer.kind == "declined":
            first = min(invoices, key=lambda i: _utc(i["issued_at"]))
            if (first["status"], first["void_reason"]) != ("void", "dunning_exhausted"):
                report.violations.append(f"{where}: first invoice {first['status']}/{first['void_reason']}")
            if (subscription["plan_code"], subscription["on_free_plan"]) != (plans["free"], True):
                report.violations.append(f"{where}: ends on {subscription['plan_code']}, not the free plan")
        elif customer.kind in ("renews", "fails_first"):
            got = sorted((i["status"], i["total"], i["period_start"]) for i in invoices)
            if len(got) != months_billed or {(s, t) for s, t, _ in got} != {("paid", 4900)}:
                report.violations.append(f"{where}: invoices {got}")
