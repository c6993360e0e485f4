"""The chaos suite's short form (`make chaos` runs the long one, tests/chaos): two dozen customers
on two test clocks renew, fail payments, pause, resume and change plans while a worker and an API
process are SIGKILLed and credit-svc's database is closed; afterwards every invoice, payment,
credit note, plan move and dunning case exists once, credit ledgers balance and every event sent
was consumed by every consumer.
"""

from __future__ import annotations

import pytest

from tests.chaos.faults import close_database, kill
from tests.chaos.run import run_chaos


def _faults(stack):
    return [
        kill(stack, "invoicing", "worker"),
        kill(stack, "invoicing", "api"),
        close_database(stack, "credit", 6),
        kill(stack, "dunning", "worker"),
    ]


@pytest.mark.e2e
def test_a_short_chaos_run_loses_nothing_and_doubles_nothing(stack):
    workload, driver, report = run_chaos(
        stack, clocks=2, customers_per_clock=12, months=2, faults=_faults, gap=1.5, strict_ops=False
    )
    print(dict(report.counts), driver.injected, driver.restarts)
    assert driver.errors == []
    assert len(driver.injected) == 4, driver.injected
    assert report.violations == []
    assert report.counts["invoices"] >= 3 * len(workload.customers) // 2
