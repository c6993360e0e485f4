"""Reminders as due work on test clocks: `subscription.renewal_upcoming` at each offset of
`renewal_reminder_days` for subscriptions billed less often than monthly (once each, none when
cancelling), and `subscription.trial_will_end` 3 days before a trial ends (at once for a shorter one).
"""

from __future__ import annotations

from tests.support.client import TenureClient
from tests.support.credits import plan, subscribe


def _entries(api: TenureClient, subscription_id: str, event_type: str) -> list[dict]:
    timeline = api.get("subscription", f"/v1/subscriptions/{subscription_id}/timeline")["data"]
    return [entry for entry in timeline if entry["type"] == event_type]


def test_renewal_reminders_at_30_and_7_days_once_each_with_the_expected_amount(api: TenureClient):
    yearly = plan(api, "reminded-yearly", 120000, interval="year")
    monthly = plan(api, "not-reminded-monthly", 5000)
    clock = api.create_clock("2026-01-01T00:00:00Z")
    _, subscription = subscribe(api, clock, yearly)
    _, monthly_subscription = subscribe(api, clock, monthly)
    _, cancelling = subscribe(api, clock, yearly)
    api.post("subscription", f"/v1/subscriptions/{cancelling['id']}/cancel", {"when": "end_of_term"})

    api.advance(clock, "2026-12-01T23:00:00Z")
    assert _entries(api, subscription["id"], "renewal_upcoming") == []
    api.advance(clock, "2026-12-10T00:00:00Z")
    [first] = _entries(api, subscription["id"], "renewal_upcoming")
    assert first["occurred_at"] == "2026-12-02T00:00:00Z"
    assert (first["data"]["days_before"], first["data"]["expected_amount"], first["data"]["currency"]) == (30, 120000, "USD")
    assert first["data"]["period_end"].startswith("2027-01-01T00:00:00")

    api.advance(clock, "2027-01-01T00:00:00Z")
    reminders = _entries(api, subscription["id"], "renewal_upcoming")
    assert [(r["occurred_at"], r["data"]["days_before"]) for r in reminders] == [
        ("2026-12-02T00:00:00Z", 30),
        ("2026-12-25T00:00:00Z", 7),
    ]
    assert _entries(api, monthly_subscription["id"], "renewal_upcoming") == []
    assert _entries(api, cancelling["id"], "renewal_upcoming") == []
