"""`make chaos`: two hundred customers on eight test clocks renew, fail payments, pause, resume and
change plans over three months while, in turn, every worker and every API process is SIGKILLed,
credit-svc's and invoicing-svc's databases are closed for 10 s, PostgreSQL restarts and the broker
restarts. Afterwards the invariants of tests/chaos/invariants.py hold and no ops view shows work
stuck. The counts are printed at the end.
"""

from __future__ import annotations

import pytest

from tenure_tools.services import SERVICES
from tests.chaos.faults import close_database, kill, restart_broker, restart_postgres
from tests.chaos.run import run_chaos


def _faults(stack):
    faults = [kill(stack, service, role) for service in SERVICES for role in ("worker", "api")]
    faults[3:3] = [close_database(stack, "credit", 10)]
    faults[8:8] = [close_database(stack, "invoicing", 10)]
    if stack.postgres is not None:
        faults.insert(6, restart_postgres(stack))
    if stack.broker is not None:
        faults.insert(11, restart_broker(stack))
    return faults


@pytest.mark.e2e
def test_chaos(stack):
    workload, driver, report = run_chaos(
        stack, clocks=8, customers_per_clock=25, months=3, faults=_faults, gap=15.0, strict_ops=True, settle_timeout=400
    )
    print(f"\nchaos faults injected: {driver.injected}\nprocesses restarted: {driver.restarts}")
    print("chaos counts: " + ", ".join(f"{name}={n}" for name, n in sorted(report.counts.items())))
    assert driver.errors == []
    assert len(driver.injected) == len(_faults(stack))
    assert report.violations == [], "\n".join(report.violations[:50])
