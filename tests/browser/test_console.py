"""The operations console in headless Chromium against the running stack: an operator signs in with an
API key, finds the customer at risk with its reasons, sees renewals and the MRR chart, and replays a
dead letter; a read key sees but cannot act; a wrong key gets a message. Screenshots: .tenure/screenshots/."""

from __future__ import annotations

import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tenure_shared.events import CloudEvent
from tests.conftest import API_KEY, READ_ONLY_API_KEY
from tests.e2e.test_resilience_dead_letters import _publish
from tests.support.client import TenureClient
from tests.support.lifecycle import customer, plan

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".tenure" / "screenshots"


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"console-{name}.png", full_page=True)


def sign_in(page: Page, stack, key: str) -> None:
    page.goto(stack.url("health-score") + "/console/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="module")
def at_risk(api: TenureClient) -> tuple[str, str]:
    """A customer on a test clock whose renewal payment failed (dunning), with urgent tickets and a low NPS."""
    clock = api.create_clock("2026-03-01T00:00:00Z")
    who = customer(api, clock)
    api.post("subscription", "/v1/subscriptions", {"customer_id": who, "plan_code": plan(api, "Console", 10000)})
    api.wait_ready(clock)
    api.patch("subscription", f"/v1/customers/{who}", {"payment_method": "pm_test_declined"})
    tickets = [
        {"id": api.unique("tkt"), "customer_id": who, "opened_at": "2026-03-29T09:00:00Z", "severity": "urgent", "status": "open"}
        for _ in range(2)
    ]
    api.post("health-score", "/v1/signals/tickets", {"tickets": tickets})
    nps = {"id": api.unique("nps"), "customer_id": who, "kind": "nps", "score": 2, "answered_at": "2026-03-30T09:00:00Z"}
    api.post("health-score", "/v1/signals/surveys", {"surveys": [nps]})
    api.advance(clock, "2026-04-03T10:00:00Z")
    assert api.get("health-score", f"/v1/customers/{who}/health")["status"] in ("at_risk", "critical")
    return clock, who


@pytest.fixture
def dead_letter(stack) -> str:
    """A customer.created invoicing refuses (dead-lettered), published as test_resilience_dead_letters does."""
    event = CloudEvent(
        id=f"evt_{uuid.uuid4().hex}",
        type="customer.created",
        source="console-test",
        subject=f"cus_{uuid.uuid4().hex[:8]}",
        time=datetime(2026, 3, 1, tzinfo=UTC),
        data={"not": "a customer"},
    )
    with ThreadPoolExecutor(1) as thread:  # Playwright's event loop runs in this thread
        thread.submit(_publish, stack.kafka_bootstrap, event).result()
    for _ in range(200):
        found = httpx.get(
            stack.url("invoicing") + f"/v1/dead-letters/{event.id}", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
        )
        if found.status_code == 200 and found.json()["status"] == "dead_lettered":
            return event.id
        time.sleep(0.1)
    raise AssertionError(f"{event.id} was never dead-lettered")


def test_an_admin_finds_the_customer_at_risk_with_reasons_and_its_timeline(stack, at_risk, page: Page):
    clock, who = at_risk
    sign_in(page, stack, API_KEY)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("link", name="invoicing-svc API docs")).to_have_attribute("href", stack.url("invoicing") + "/docs")

    page.goto(stack.url("health-score") + f"/console/customers?clock={clock}&status=")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=who))
    expect(row.locator(".badge")).to_have_text(re.compile("at risk|critical"))
    expect(row).to_contain_text("2 failed payments in the last 30 days")
    shot(page, "customers")

    row.get_by_role("link", name=who).click()
    expect(page.get_by_role("heading", name=f"Customer {who}")).to_be_visible()
    expect(page.get_by_role("table", name="Factors")).to_contain_text("2 open tickets (2 urgent)")
    timeline = page.locator(".timeline")
    for kind in ("invoice", "payment", "dunning case", "subscription", "event"):
        expect(timeline).to_contain_text(kind)
    shot(page, "customer")


def test_renewals_show_a_forecast_and_reports_draw_the_mrr_chart(stack, at_risk, page: Page):
    clock, who = at_risk
    sign_in(page, stack, API_KEY)
    page.goto(stack.url("health-score") + f"/console/renewals?clock={clock}")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=who))
    expect(row.locator(".forecast")).to_have_text("at risk")
    expect(row.locator(".reasons li").first).to_have_text(re.compile(r"customer health is (critical|at risk)"))
    expect(row).to_contain_text("100.00 USD")
    shot(page, "renewals")

    page.goto(stack.url("health-score") + f"/console/reports?clock={clock}&interval=week")
    chart = page.locator("svg#mrr-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("polyline")).to_have_attribute("points", re.compile(r"\d+\.\d,\d+\.\d \d"))
    shot(page, "reports")


def test_an_admin_replays_and_discards_a_dead_letter_from_the_console(stack, dead_letter, page: Page):
    sign_in(page, stack, API_KEY)
    page.goto(stack.url("health-score") + "/console/operations")
    row = page.locator(f"tr[data-event-id='{dead_letter}']").first
    expect(row.locator(".status")).to_have_text("dead lettered")
    row.get_by_role("button", name=f"Replay {dead_letter}").first.click()
    expect(page.get_by_role("status")).to_contain_text(f"invoicing: replay of {dead_letter} accepted")

    # The worker ran the handler again; it refused again, so the dead letter is back, with its error.
    for _ in range(100):
        page.goto(stack.url("health-score") + "/console/operations")
        status = page.locator(f"tr[data-event-id='{dead_letter}'] .status").first.text_content()
        if status == "dead lettered":
            break
        time.sleep(0.2)
    assert status == "dead lettered"
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(f"tr[data-event-id='{dead_letter}']").first.get_by_role("button", name=f"Discard {dead_letter}").click()
    expect(page.get_by_role("status")).to_contain_text(f"invoicing: discard of {dead_letter} accepted")
    expect(page.locator(f"tr[data-event-id='{dead_letter}'] .status").first).to_have_text("discarded")
    shot(page, "operations-admin")


def test_a_read_key_sees_but_cannot_replay(stack, dead_letter, page: Page):
    sign_in(page, stack, READ_ONLY_API_KEY)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.goto(stack.url("health-score") + "/console/operations")
    expect(page.get_by_text("no admin scope")).to_be_visible()
    expect(page.locator(".refused").first).to_contain_text("admin")
    expect(page.get_by_role("button", name=re.compile("Replay|Discard|Retry"))).to_have_count(0)
    shot(page, "operations-read-key")

    # Posting the action anyway: the service refuses it and the console says so.
    page.evaluate(
        """(action) => { const f = document.createElement('form'); f.method = 'post'; f.action = action;
           document.body.append(f); f.submit(); }""",
        f"/console/operations/invoicing/replay/{dead_letter}",
    )
    expect(page.get_by_role("alert")).to_contain_text(f"invoicing refused to replay {dead_letter}")
    replay = httpx.post(
        stack.url("invoicing") + f"/v1/dead-letters/{dead_letter}/replay",
        headers={"Authorization": f"Bearer {READ_ONLY_API_KEY}"},
        timeout=10,
    )
    assert replay.status_code == 403
    status = httpx.get(
        stack.url("invoicing") + f"/v1/dead-letters/{dead_letter}", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
    )
    assert status.json()["status"] == "dead_lettered"


def test_a_wrong_key_gets_a_message_and_signing_out_forgets_the_key(stack, page: Page):
    sign_in(page, stack, "not-a-key")
    expect(page.get_by_role("alert")).to_have_text("That API key was refused. Check it and try again.")
    assert page.context.cookies() == []

    sign_in(page, stack, API_KEY)
    [cookie] = [c for c in page.context.cookies() if c["name"] == "tenure_console_key"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(stack.url("health-score") + "/console/customers")
    expect(page.get_by_role("alert")).to_have_text("Please sign in with an API key.")


def test_the_console_fits_a_phone(stack, at_risk, phone_page: Page):
    clock, _ = at_risk
    sign_in(phone_page, stack, API_KEY)
    for path in ("", "/customers", "/renewals", "/reports", "/operations"):
        phone_page.goto(stack.url("health-score") + f"/console{path}?clock={clock}")
        overflow = phone_page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
    shot(phone_page, "phone-operations")
