"""Pause and resume rules beyond the three worked scenarios: refusals (stable codes, nothing
changes), backdated and future pauses, calling a future pause off, a pause across the renewal with a
scheduled resume, and the free plan (pauses with no credit).
"""

from __future__ import annotations

import pytest

from tests.support.client import TenureClient
from tests.support.credits import credit_notes, plan, problem, subscribe


@pytest.fixture
def monthly(api: TenureClient) -> str:
    return plan(api, "support-monthly", 30000)


def _state(api: TenureClient, sub_id: str, customer: str) -> tuple:
    """Everything a refusal must leave as it was."""
    return (
        api.get("subscription", f"/v1/subscriptions/{sub_id}"),
        api.timeline_types(sub_id),
        credit_notes(api, customer_id=customer),
        len(api.invoices(customer_id=customer)),
    )


def _refused(api: TenureClient, sub_id: str, customer: str, verb: str, body: dict, status: int, code: str) -> None:
    before = _state(api, sub_id, customer)
    assert problem(api, "subscription", f"/v1/subscriptions/{sub_id}/{verb}", body, status)["code"] == code
    assert _state(api, sub_id, customer) == before


def test_refusals_change_nothing(api: TenureClient, monthly: str):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, monthly)
    sub_id = subscription["id"]
    api.advance(clock, "2026-06-10T00:00:00Z")

    _refused(api, sub_id, customer, "resume", {}, 409, "subscription_not_paused")
    _refused(api, sub_id, customer, "pause", {"pause_at": "2026-05-31T23:59:59Z"}, 422, "pause_before_current_period")
    _refused(api, sub_id, customer, "pause", {"resume_at": "2026-06-09T00:00:00Z"}, 422, "resume_before_pause")
    _refused(
        api,
        sub_id,
        customer,
        "pause",
        {"pause_at": "2026-06-20T00:00:00Z", "resume_at": "2026-06-20T00:00:00Z"},
        422,
        "resume_before_pause",
    )
    _refused(
        api,
        sub_id,
        customer,
        "pause",
        {"pause_at": "2026-06-02T00:00:00Z", "resume_at": "2026-06-05T00:00:00Z"},
        422,
        "resume_in_past",
    )
    assert (
        problem(api, "credit", "/v1/credit-previews", {"subscription_id": sub_id, "resume_at": "2026-06-01T00:00:00Z"}, 422)[
            "code"
        ]
        == "resume_before_pause"
    )

    api.post("subscription", f"/v1/subscriptions/{sub_id}/pause", {})
    _refused(api, sub_id, customer, "pause", {}, 409, "subscription_already_paused")
    _refused(api, sub_id, customer, "resume", {"resume_at": "2026-06-09T00:00:00Z"}, 422, "resume_before_pause")
    api.advance(clock, "2026-06-12T00:00:00Z")
    api.post("subscription", f"/v1/subscriptions/{sub_id}/resume", {})
    api.advance(clock, "2026-06-15T00:00:00Z")
    # The days up to the resume were credited already: a new pause may not reach back before it.
    _refused(api, sub_id, customer, "pause", {"pause_at": "2026-06-11T00:00:00Z"}, 422, "pause_before_last_resume")
    [note] = credit_notes(api, customer_id=customer)
    assert (note["amount"], note["period_start"], note["period_end"]) == (2000, "2026-06-10T00:00:00Z", "2026-06-12T00:00:00Z")

    api.post("subscription", f"/v1/subscriptions/{sub_id}/cancel", {"when": "now", "unused_amount": "none"})
    api.wait_ready(clock)
    _refused(api, sub_id, customer, "pause", {}, 409, "subscription_not_pausable")
    _refused(api, sub_id, customer, "resume", {}, 409, "subscription_not_paused")


def test_trialing_subscription_cannot_pause(api: TenureClient):
    trial_plan = api.unique("trial")
    api.post(
        "subscription",
        "/v1/plans",
        {"code": trial_plan, "name": "Trial", "currency": "USD", "amount": 4900, "interval": "month", "trial_days": 14},
    )
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, trial_plan)
    assert subscription["status"] == "trialing"
    _refused(api, subscription["id"], customer, "pause", {}, 409, "subscription_not_pausable")


def test_backdated_pause_resumed_now_credits_the_days_since(api: TenureClient, monthly: str):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, monthly)
    api.advance(clock, "2026-06-20T00:00:00Z")
    paused = api.post(
        "subscription",
        f"/v1/subscriptions/{subscription['id']}/pause",
        {"pause_at": "2026-06-10T00:00:00Z", "resume_at": "2026-06-20T00:00:00Z"},
    )
    # A pause wholly before now ends at once: paused and resumed, ten days credited.
    assert paused["credit_preview"] == {"unused_days": 10, "period_days": 30, "amount": 10000, "currency": "USD"}
    assert (paused["status"], paused["pause"], paused["renews_at"]) == ("active", None, "2026-07-01T00:00:00Z")
    api.wait_ready(clock)
    [note] = credit_notes(api, customer_id=customer)
    assert (note["amount"], note["period_start"], note["period_end"]) == (10000, "2026-06-10T00:00:00Z", "2026-06-20T00:00:00Z")
    timeline = api.get("subscription", f"/v1/subscriptions/{subscription['id']}/timeline")["data"]
    assert [(e["type"], e["occurred_at"]) for e in timeline][2:] == [
        ("paused", "2026-06-10T00:00:00Z"),
        ("resumed", "2026-06-20T00:00:00Z"),
        ("credit_note.issued", "2026-06-20T00:00:00Z"),
    ]


def test_future_pause_starts_on_its_day_and_can_be_called_off(api: TenureClient, monthly: str):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, monthly)
    sub_id = subscription["id"]
    scheduled = api.post(
        "subscription",
        f"/v1/subscriptions/{sub_id}/pause",
        {"pause_at": "2026-06-10T00:00:00Z", "resume_at": "2026-06-20T00:00:00Z"},
    )
    assert (scheduled["status"], scheduled["access"]) == ("active", "full")
    assert scheduled["pause"] == {"paused_at": "2026-06-10T00:00:00Z", "resume_at": "2026-06-20T00:00:00Z"}
    assert scheduled["credit_preview"]["amount"] == 10000

    api.advance(clock, "2026-06-12T00:00:00Z")
    paused = api.get("subscription", f"/v1/subscriptions/{sub_id}")
    assert (paused["status"], paused["access"]) == ("paused", "none")
    api.advance(clock, "2026-06-25T00:00:00Z")
    assert api.get("subscription", f"/v1/subscriptions/{sub_id}")["status"] == "active"
    [note] = credit_notes(api, customer_id=customer)
    assert note["amount"] == 10000

    # A second future pause, called off before it starts: nothing happens on its day.
    api.post("subscription", f"/v1/subscriptions/{sub_id}/pause", {"pause_at": "2026-06-28T00:00:00Z"})
    called_off = api.post("subscription", f"/v1/subscriptions/{sub_id}/resume", {})
    assert (called_off["status"], called_off["pause"]) == ("active", None)
    api.advance(clock, "2026-06-29T00:00:00Z")
    assert api.get("subscription", f"/v1/subscriptions/{sub_id}")["status"] == "active"
    assert api.timeline_types(sub_id) == [
        "created",
        "activated",
        "pause_scheduled",
        "paused",
        "resumed",
        "credit_note.issued",
        "pause_scheduled",
        "pause_cancelled",
    ]


def test_pause_across_the_renewal_with_a_scheduled_resume(api: TenureClient, monthly: str):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, monthly)
    sub_id = subscription["id"]
    api.advance(clock, "2026-06-20T00:00:00Z")
    paused = api.post("subscription", f"/v1/subscriptions/{sub_id}/pause", {"resume_at": "2026-07-10T00:00:00Z"})
    assert paused["credit_preview"] == {"unused_days": 11, "period_days": 30, "amount": 11000, "currency": "USD"}
    later = api.post("subscription", f"/v1/subscriptions/{sub_id}/resume", {"resume_at": "2026-07-12T00:00:00Z"})
    assert later["pause"] == {"paused_at": "2026-06-20T00:00:00Z", "resume_at": "2026-07-12T00:00:00Z"}
    assert later["credit_preview"]["amount"] == 11000  # capped at the period end either way

    api.advance(clock, "2026-07-11T00:00:00Z")
    assert api.get("subscription", f"/v1/subscriptions/{sub_id}")["status"] == "paused"
    assert len(api.invoices(customer_id=customer)) == 1
    api.advance(clock, "2026-07-12T00:00:00Z")
    resumed = api.get("subscription", f"/v1/subscriptions/{sub_id}")
    assert (resumed["status"], resumed["current_period_start"], resumed["current_period_end"]) == (
        "active",
        "2026-07-12T00:00:00Z",
        "2026-08-12T00:00:00Z",
    )
    new_period = api.invoices(customer_id=customer)[-1]
    assert (new_period["total"], new_period["amount_due"], new_period["status"]) == (30000, 19000, "paid")
    [note] = credit_notes(api, customer_id=customer)
    assert new_period["credits_applied"] == [{"credit_note_id": note["id"], "amount": 11000}]


def test_free_plan_pauses_with_no_credit(api: TenureClient):
    free = plan(api, "free", 0)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, free)
    api.advance(clock, "2026-06-10T00:00:00Z")
    paused = api.post("subscription", f"/v1/subscriptions/{subscription['id']}/pause", {"resume_at": "2026-06-15T00:00:00Z"})
    assert paused["credit_preview"] == {"unused_days": 5, "period_days": 30, "amount": 0, "currency": "USD"}
    api.advance(clock, "2026-06-15T00:00:00Z")
    assert api.get("subscription", f"/v1/subscriptions/{subscription['id']}")["status"] == "active"
    assert credit_notes(api, customer_id=customer) == []
    assert api.timeline_types(subscription["id"])[-2:] == ["paused", "resumed"]


def test_change_scheduled_for_a_term_that_ends_while_paused_takes_effect_at_resume(api: TenureClient, monthly: str):
    basic = plan(api, "basic", 10000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, monthly)
    sub_id = subscription["id"]
    api.post("subscription", f"/v1/subscriptions/{sub_id}/changes", {"plan_code": basic, "when": "end_of_term"})
    api.advance(clock, "2026-06-21T00:00:00Z")
    api.post("subscription", f"/v1/subscriptions/{sub_id}/pause", {})
    api.advance(clock, "2026-07-03T00:00:00Z")
    resumed = api.post("subscription", f"/v1/subscriptions/{sub_id}/resume", {})
    assert (resumed["plan_code"], resumed["scheduled_changes"]) == (basic, [])
    assert resumed["credit_preview"]["amount"] == 10000  # 10 paused days of the 300.00 period
    api.wait_ready(clock)
    new_period = api.invoices(customer_id=customer)[-1]
    assert (new_period["period_start"], new_period["total"], new_period["amount_due"]) == ("2026-07-03T00:00:00Z", 10000, 0)
    assert new_period["lines"][0]["description"] == "basic"
    assert api.timeline_types(sub_id)[-5:] == ["paused", "changed", "resumed", "credit_note.issued", "credit_note.applied"]
