"""The renewal forecast (health-score-svc): the first reason decides; an open quote counts, a closed one does not."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tenure_health.reports import renewal_forecast


def state(**changes) -> SimpleNamespace:
    base = dict(
        cancellation_scheduled=False,
        next_plan_code=None,
        mrr_numerator=10000,
        mrr_denominator=1,
        next_mrr_numerator=None,
        next_mrr_denominator=None,
        paused=False,
    )
    return SimpleNamespace(**{**base, **changes})


def quote(status: str, quoted: int, today: int = 10000) -> SimpleNamespace:
    return SimpleNamespace(
        status=status, number="Q-000007", currency="USD", recurring_total=quoted, current_recurring_amount=today
    )


def test_nothing_pending_renews():
    assert renewal_forecast(state(), "healthy") == ("renew", [])


@pytest.mark.parametrize(("quoted", "outlook"), [(30000, "upsell"), (5000, "downgrade")])
def test_an_open_quote_that_changes_the_amount_decides(quoted, outlook):
    forecast, reasons = renewal_forecast(state(), "healthy", quote("open", quoted))
    assert forecast == outlook
    assert reasons == [f"open quote Q-000007 takes each period from 100.00 USD to {quoted / 100:.2f} USD"]


@pytest.mark.parametrize("status", ["draft", "accepted", "declined", "expired", "cancelled"])
def test_a_quote_that_is_not_open_changes_nothing(status):
    assert renewal_forecast(state(), None, quote(status, 30000)) == ("renew", [])


def test_an_open_quote_at_the_same_amount_changes_nothing():
    assert renewal_forecast(state(), None, quote("open", 10000)) == ("renew", [])


def test_a_scheduled_cancellation_comes_before_an_open_quote():
    forecast, reasons = renewal_forecast(state(cancellation_scheduled=True), "critical", quote("open", 30000))
    assert forecast == "churn"
    assert len(reasons) == 3 and reasons[-1] == "customer health is critical"
