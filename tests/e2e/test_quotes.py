"""Quotes over the public API on test clocks: draft → finalize (gapless Q- number) → accept applies the
change; an admin approves a big discount first; an open quote expires on its clock; a quote priced
before the subscription changed is refused as stale; decline and cancel close a quote once."""

from __future__ import annotations

import io
import time

import httpx
from pypdf import PdfReader

from tests.support.client import TenureClient
from tests.support.discounts import coupon
from tests.support.emails import wait_for_emails
from tests.support.lifecycle import lines, plan, subscribed, subscription


def quote(api: TenureClient, subscription_id: str, **change) -> dict:
    return api.post("subscription", "/v1/quotes", {"subscription_id": subscription_id, **change})


def act(api: TenureClient, quote_id: str, action: str) -> httpx.Response:
    return api.request("subscription", "POST", f"/v1/quotes/{quote_id}/{action}")


def test_an_upgrade_quote_is_numbered_when_finalized_and_accepting_it_schedules_the_change(api: TenureClient):
    basic, pro = plan(api, "Basic", 10000, interval="month"), plan(api, "Pro", 30000, interval="month")
    clock, sub = subscribed(api, basic)
    api.advance(clock, "2026-06-10T00:00:00Z")

    draft = quote(api, sub["id"], plan_code=pro, note="Pro from July")
    assert (draft["status"], draft["number"], draft["customer_id"], draft["when"]) == (
        "draft",
        None,
        sub["customer_id"],
        "end_of_term",
    )
    assert (draft["total"], draft["recurring_total"], draft["discount"], draft["requires_approval"]) == (30000, 30000, 0, False)
    assert draft["effective_at"] == "2026-07-01T00:00:00Z"
    assert [(line["kind"], line["amount"]) for line in draft["lines"]] == [("subscription", 30000)]

    no_pdf = api.request("subscription", "GET", f"/v1/quotes/{draft['id']}/pdf")
    assert (no_pdf.status_code, no_pdf.json()["code"]) == (409, "quote_not_finalized")
    opened = act(api, draft["id"], "finalize").json()
    assert opened["status"] == "open" and opened["number"].startswith("Q-")
    pdf = api.request("subscription", "GET", f"/v1/quotes/{draft['id']}/pdf", expect=200)
    assert pdf.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert f"Quote {opened['number']}" in text and "300.00 USD" in text and "2026-07-10" in text and "Pro from July" in text
    assert opened["expires_at"] == "2026-07-10T00:00:00Z"  # 30 days after finalizing, on the clock
    assert act(api, draft["id"], "finalize").json() == opened  # finalizing twice changes nothing
    [sent] = wait_for_emails(api, sub["customer_id"], 1, template="quote_sent")
    assert sent["subject"] == f"Your quote {opened['number']}"

    second = act(api, quote(api, sub["id"], quantity=2)["id"], "finalize").json()
    assert int(second["number"][2:]) == int(opened["number"][2:]) + 1  # gapless
    listed = api.get("subscription", f"/v1/quotes?subscription_id={sub['id']}&status=open")["data"]
    assert {q["id"] for q in listed} == {opened["id"], second["id"]}

    accepted = act(api, opened["id"], "accept").json()
    assert accepted["status"] == "accepted"
    assert act(api, opened["id"], "accept").json() == accepted  # idempotent
    assert subscription(api, sub["id"])["plan_code"] == basic  # end of term: nothing changes before the renewal

    api.advance(clock, "2026-07-01T00:00:00Z")
    renewal = api.invoices(subscription_id=sub["id"])[-1]
    assert lines(renewal) == [("subscription", 30000, "Pro")]
    assert subscription(api, sub["id"])["plan_code"] == pro


def test_a_discount_above_the_approval_threshold_needs_an_admin_before_finalizing(api: TenureClient):
    basic, pro = plan(api, "Basic", 10000, interval="month"), plan(api, "Pro", 30000, interval="month")
    half_off = coupon(api, "Half-off", percent_off=50, duration="forever")
    _, sub = subscribed(api, basic)

    draft = quote(api, sub["id"], plan_code=pro, coupon_code=half_off)
    assert (draft["subtotal"], draft["discount"], draft["total"], draft["recurring_total"]) == (30000, 15000, 15000, 15000)
    assert draft["requires_approval"] is True and draft["approved_at"] is None

    refused = act(api, draft["id"], "finalize")
    assert (refused.status_code, refused.json()["code"]) == (409, "quote_requires_approval")
    write_key = api.post("subscription", "/v1/api-keys", {"name": "quotes writer", "scopes": ["read", "write"]})["key"]
    not_admin = httpx.post(
        api.urls["subscription"] + f"/v1/quotes/{draft['id']}/approve", headers={"Authorization": f"Bearer {write_key}"}
    )
    assert (not_admin.status_code, not_admin.json()["code"]) == (403, "insufficient_scope")
    assert api.get("subscription", f"/v1/quotes/{draft['id']}")["approved_at"] is None

    approved = act(api, draft["id"], "approve").json()
    assert approved["approved_at"] == "2026-06-01T00:00:00Z"
    assert act(api, draft["id"], "finalize").json()["status"] == "open"


def test_an_open_quote_expires_on_its_clock_and_then_cannot_be_accepted(api: TenureClient):
    basic, pro = plan(api, "Basic", 10000, interval="month"), plan(api, "Pro", 30000, interval="month")
    clock, sub = subscribed(api, basic)
    past = api.request(
        "subscription",
        "POST",
        "/v1/quotes",
        json={"subscription_id": sub["id"], "plan_code": pro, "expires_at": "2026-05-01T00:00:00Z"},
    )
    assert (past.status_code, past.json()["code"]) == (422, "invalid_quote_expiry")

    opened = act(api, quote(api, sub["id"], plan_code=pro, expires_at="2026-06-05T00:00:00Z")["id"], "finalize").json()
    assert opened["expires_at"] == "2026-06-05T00:00:00Z"
    api.advance(clock, "2026-06-06T00:00:00Z")
    assert api.get("subscription", f"/v1/quotes/{opened['id']}")["status"] == "expired"
    refused = act(api, opened["id"], "accept")
    assert (refused.status_code, refused.json()["code"]) == (409, "quote_not_open")
    assert subscription(api, sub["id"])["plan_code"] == basic


def test_a_quote_priced_before_the_subscription_changed_is_refused_as_stale(api: TenureClient):
    basic, pro = plan(api, "Basic", 10000, interval="month"), plan(api, "Pro", 30000, interval="month")
    _, sub = subscribed(api, basic)
    opened = act(api, quote(api, sub["id"], plan_code=pro)["id"], "finalize").json()
    api.post("subscription", f"/v1/subscriptions/{sub['id']}/changes", {"quantity": 2, "when": "end_of_term"})

    stale = act(api, opened["id"], "accept")
    assert (stale.status_code, stale.json()["code"]) == (409, "quote_stale")
    assert api.get("subscription", f"/v1/quotes/{opened['id']}")["status"] == "open"  # nothing changed


def test_decline_and_cancel_close_a_quote_once(api: TenureClient):
    basic, pro = plan(api, "Basic", 10000, interval="month"), plan(api, "Pro", 30000, interval="month")
    _, sub = subscribed(api, basic)
    draft = quote(api, sub["id"], plan_code=pro)
    not_open = act(api, draft["id"], "decline")
    assert (not_open.status_code, not_open.json()["code"]) == (409, "quote_not_open")
    assert act(api, draft["id"], "cancel").json()["status"] == "cancelled"
    assert act(api, draft["id"], "cancel").json()["status"] == "cancelled"

    opened = act(api, quote(api, sub["id"], plan_code=pro)["id"], "finalize").json()
    assert act(api, opened["id"], "decline").json()["status"] == "declined"
    after = act(api, opened["id"], "accept")
    assert (after.status_code, after.json()["code"]) == (409, "quote_not_open")
    missing = act(api, "qt_missing", "accept")
    assert (missing.status_code, missing.json()["code"]) == (404, "quote_not_found")


def renewal_of(api: TenureClient, clock: str, subscription_id: str, until) -> dict:
    """The subscription's line of GET /v1/renewals once `until(line)` holds (quote events reach
    health-score-svc asynchronously)."""
    deadline = time.monotonic() + 60
    while True:
        listed = api.get("health-score", "/v1/renewals", params={"test_clock_id": clock, "within_days": 30})["data"]
        line = next((r for r in listed if r["subscription_id"] == subscription_id), None)
        if line is not None and until(line):
            return line
        assert time.monotonic() < deadline, f"renewal line never matched: {line}"
        time.sleep(0.2)


def test_an_open_quote_shows_in_the_renewal_forecast_until_it_is_declined(api: TenureClient):
    basic, pro = plan(api, "Basic", 10000, interval="month"), plan(api, "Pro", 30000, interval="month")
    clock, sub = subscribed(api, basic)
    opened = act(api, quote(api, sub["id"], plan_code=pro)["id"], "finalize").json()

    line = renewal_of(api, clock, sub["id"], lambda r: r["quote"] == {"id": opened["id"], "status": "open"})
    assert line["forecast"] == "upsell"
    assert line["reasons"] == [f"open quote {opened['number']} takes each period from 100.00 USD to 300.00 USD"]
    assert line["expected_amount"] == 10000  # what renews today: the quote is not accepted yet

    act(api, opened["id"], "decline")
    line = renewal_of(api, clock, sub["id"], lambda r: r["quote"]["status"] == "declined")
    assert (line["forecast"], line["reasons"]) == ("renew", [])


def test_a_quote_that_could_not_be_carried_out_is_refused_and_nothing_is_stored(api: TenureClient):
    basic, pro = plan(api, "Basic", 10000, interval="month"), plan(api, "Pro", 30000, interval="month")
    _, sub = subscribed(api, basic)
    cases = [
        ({"plan_code": basic}, 422, "empty_change"),  # the subscription already is as asked
        ({"plan_code": "no-such-plan"}, 404, "plan_not_found"),
        ({"plan_code": pro, "coupon_code": "NO-SUCH-COUPON"}, 404, "coupon_not_found"),
    ]
    for change, status, code in cases:
        refused = api.request("subscription", "POST", "/v1/quotes", json={"subscription_id": sub["id"], **change})
        assert (refused.status_code, refused.json()["code"]) == (status, code), change
    api.post("subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"when": "now"})
    cancelled = api.request("subscription", "POST", "/v1/quotes", json={"subscription_id": sub["id"], "plan_code": pro})
    assert (cancelled.status_code, cancelled.json()["code"]) == (409, "subscription_not_changeable")
    assert api.get("subscription", f"/v1/quotes?subscription_id={sub['id']}")["data"] == []
