"""The customer portal in a real browser: a portal link opens it; the customer sees plan, renewal and
the upcoming invoice, pauses with the exact credit shown first, changes plan with the API's own
proration preview, downloads an invoice PDF; it works at phone size, every control has a label,
and the main action is reachable with Tab."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tenure_shared.money import format_amount
from tests.support.client import TenureClient
from tests.support.credits import subscribe
from tests.support.lifecycle import account_settings

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".test-artifacts" / "portal"


def plan(api: TenureClient, name: str, amount: int) -> str:
    code = api.unique(name.lower().replace(" ", "-"))
    api.post("subscription", "/v1/plans", {"code": code, "name": name, "currency": "USD", "amount": amount, "interval": "month"})
    return code


@pytest.fixture(scope="module")
def catalog(api: TenureClient) -> dict[str, str]:
    return {"small": plan(api, "Portal Small", 10000), "bigger": plan(api, "Portal Bigger", 30000)}


def open_portal(api: TenureClient, page: Page, plan_code: str) -> tuple[str, dict]:
    """A customer on a fresh clock (2026-06-01) on `plan_code`, with the portal open in `page`."""
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, plan_code)
    link = api.post("subscription", "/v1/portal-sessions", {"customer_id": customer})
    page.goto(link["url"])
    expect(page).to_have_url(api.urls["subscription"] + "/portal")
    return customer, subscription


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def test_the_overview_shows_plan_renewal_and_the_upcoming_invoice(api: TenureClient, page: Page, catalog):
    customer, subscription = open_portal(api, page, catalog["small"])
    upcoming = api.get("invoicing", "/v1/invoices/upcoming", params={"subscription_id": subscription["id"]})
    expect(page.get_by_role("heading", level=1)).to_have_text("Your subscription")
    expect(page.get_by_test_id("plan")).to_contain_text("Portal Small")
    expect(page.get_by_test_id("status")).to_have_text("active")
    expect(page.get_by_test_id("renews")).to_have_text(subscription["renews_at"][:10])
    expect(page.get_by_test_id("upcoming-total")).to_have_text(format_amount(upcoming["amount_due"], "USD"))
    assert page.locator("html").get_attribute("lang") == "en"
    shot(page, "overview")


def test_a_customer_pauses_with_the_credit_shown_before_confirming(api: TenureClient, page: Page, catalog):
    _, subscription = open_portal(api, page, catalog["small"])
    page.get_by_label("Resume on").fill("2026-06-16")
    page.get_by_role("button", name="Preview the pause").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the pause")
    # 15 unused days of June's 30 on a 100.00 plan; nothing is paused yet.
    expect(page.get_by_test_id("pause-credit")).to_have_text("50.00 USD")
    assert api.get("subscription", f"/v1/subscriptions/{subscription['id']}")["pause"] is None
    shot(page, "pause-preview")
    page.get_by_role("button", name="Confirm the pause").click()
    expect(page.get_by_role("status")).to_have_text("Your subscription is paused.")
    after = api.get("subscription", f"/v1/subscriptions/{subscription['id']}")
    assert after["status"] == "paused" and after["pause"]["resume_at"] == "2026-06-16T00:00:00Z"
    clock = api.get("subscription", f"/v1/customers/{after['customer_id']}")["test_clock_id"]
    api.advance(clock, "2026-06-05T00:00:00Z")
    page.reload()
    page.get_by_role("button", name="Resume now").click()
    expect(page.get_by_role("status")).to_have_text("Your subscription is running again.")
    assert api.get("subscription", f"/v1/subscriptions/{subscription['id']}")["pause"] is None


def test_a_customer_upgrades_with_the_apis_proration_preview(api: TenureClient, page: Page, catalog):
    _, subscription = open_portal(api, page, catalog["small"])
    path = f"/v1/subscriptions/{subscription['id']}/changes"
    expected = api.post("subscription", path + "/preview", {"plan_code": catalog["bigger"], "when": "now"})["proration"]
    page.get_by_label("New plan").select_option(catalog["bigger"])
    page.get_by_role("button", name="Preview the change").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the plan change")
    for part in ("credit", "charge", "net"):
        expect(page.get_by_test_id(f"proration-{part}")).to_have_text(format_amount(expected[part], "USD"))
    assert expected["net"] > 0
    shot(page, "change-preview")
    page.get_by_role("button", name="Confirm the change").click()
    expect(page.get_by_role("status")).to_have_text("Your plan is changed.")
    assert api.get("subscription", f"/v1/subscriptions/{subscription['id']}")["plan_code"] == catalog["bigger"]


def test_a_cancelled_customer_reactivates_in_term(api: TenureClient, page: Page, catalog):
    _, subscription = open_portal(api, page, catalog["small"])
    page.get_by_role("button", name="Cancel the subscription").click()
    expect(page.get_by_role("status")).to_have_text("Your subscription is cancelled.")
    assert api.get("subscription", f"/v1/subscriptions/{subscription['id']}")["cancel_at_period_end"] is True
    page.get_by_role("button", name="Reactivate the subscription").click()
    expect(page.get_by_role("status")).to_have_text("Your subscription is active again.")
    assert api.get("subscription", f"/v1/subscriptions/{subscription['id']}")["cancel_at_period_end"] is False


def test_a_customer_downloads_an_invoice_pdf(api: TenureClient, page: Page, catalog):
    customer, _ = open_portal(api, page, catalog["small"])
    invoice = api.invoices(customer_id=customer)[0]
    page.get_by_role("link", name="Invoices and credit notes").click()
    with page.expect_download() as download:
        page.get_by_role("link", name=f"Download {invoice['number']}").click()
    content = Path(download.value.path()).read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert invoice["number"] in text and format_amount(invoice["total"], "USD") in text


def test_an_api_refusal_is_shown_as_a_readable_message(api: TenureClient, page: Page, catalog):
    open_portal(api, page, catalog["small"])
    page.get_by_label("Resume on").fill("2026-05-01")  # before the pause: the API refuses it
    page.get_by_role("button", name="Preview the pause").click()
    expect(page.get_by_role("alert")).not_to_be_empty()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your subscription")


def test_a_form_without_the_csrf_token_is_refused(api: TenureClient, page: Page, catalog):
    _, subscription = open_portal(api, page, catalog["small"])
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    forged = httpx.post(api.urls["subscription"] + "/portal/cancel", data={"when": "now"}, cookies=cookies)
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_token_invalid"
    assert api.get("subscription", f"/v1/subscriptions/{subscription['id']}")["status"] == "active"


def test_the_portal_works_at_phone_size(api: TenureClient, phone_page: Page, catalog):
    open_portal(api, phone_page, catalog["small"])
    expect(phone_page.get_by_test_id("plan")).to_be_visible()
    width = phone_page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways at phone size: {width}"
    box = phone_page.get_by_role("button", name="Preview the change").bounding_box()
    assert box["height"] >= 44  # a comfortable touch target
    shot(phone_page, "overview-phone")


def test_every_form_control_has_a_label(api: TenureClient, page: Page, catalog):
    open_portal(api, page, catalog["small"])
    controls = page.locator("input:not([type=hidden]), select, textarea, button")
    assert controls.count() >= 6
    for index in range(controls.count()):
        control = controls.nth(index)
        name = control.evaluate("el => el.labels && el.labels.length ? el.labels[0].textContent : el.textContent").strip()
        assert name, control.evaluate("el => el.outerHTML")
    for role, name in [("combobox", "New plan"), ("textbox", "Resume on"), ("textbox", "Payment token"), ("radio", "Now")]:
        expect(page.get_by_role(role, name=name, exact=True)).to_have_count(1)


def test_the_main_action_is_reachable_with_the_keyboard(api: TenureClient, page: Page, catalog):
    open_portal(api, page, catalog["small"])
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == "Preview the change":
            break
    else:
        pytest.fail("Tab never reached the plan change button")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the plan change")


def test_a_customer_reads_downloads_and_accepts_a_quote(api: TenureClient, page: Page, catalog):
    _, subscription = open_portal(api, page, catalog["small"])
    draft = api.post("subscription", "/v1/quotes", {"subscription_id": subscription["id"], "plan_code": catalog["bigger"]})
    page.reload()
    expect(page.get_by_test_id("quote")).to_have_count(0)  # a draft is still the seller's
    opened = api.post("subscription", f"/v1/quotes/{draft['id']}/finalize")
    page.reload()
    expect(page.get_by_test_id("quote-total")).to_have_text(format_amount(opened["total"], "USD"))
    expect(page.get_by_test_id("quote-recurring")).to_have_text("300.00 USD")
    with page.expect_download() as download:
        page.get_by_role("link", name=f"Download quote {opened['number']}").click()
    text = PdfReader(io.BytesIO(Path(download.value.path()).read_bytes())).pages[0].extract_text()
    assert f"Quote {opened['number']}" in text
    shot(page, "quote")
    page.get_by_role("button", name=f"Accept quote {opened['number']}").click()
    expect(page.get_by_role("status")).to_have_text("You accepted the quote: the change is made as it says.")
    assert api.get("subscription", f"/v1/quotes/{opened['id']}")["status"] == "accepted"
    expect(page.get_by_test_id("quote")).to_have_count(0)


def test_a_portal_session_cannot_reach_another_customers_quote(api: TenureClient, page: Page, catalog):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    _, theirs = subscribe(api, clock, catalog["small"])
    their_quote = api.post("subscription", "/v1/quotes", {"subscription_id": theirs["id"], "plan_code": catalog["bigger"]})
    api.post("subscription", f"/v1/quotes/{their_quote['id']}/finalize")
    open_portal(api, page, catalog["small"])
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    answer = httpx.get(api.urls["subscription"] + f"/portal/quotes/{their_quote['id']}/pdf", cookies=cookies)
    assert answer.status_code == 404
    assert api.get("subscription", f"/v1/quotes/{their_quote['id']}")["status"] == "open"


def test_a_customer_about_to_cancel_sees_the_retention_offer_and_takes_it(api: TenureClient, page: Page, catalog):
    code = api.unique("STAY").upper()
    api.post("subscription", "/v1/coupons", {"code": code, "name": "Stay with us", "percent_off": 25, "duration": "once"})
    with account_settings(api, retention_coupon_code=code):
        _, subscription = open_portal(api, page, catalog["small"])
        expect(page.get_by_test_id("offer-terms")).to_have_text("25% off your next period, from your next renewal.")
        shot(page, "retention-offer")
        page.get_by_role("button", name="Accept the offer").click()
        expect(page.get_by_role("status")).to_have_text("Thank you for staying: the offer applies from your next period.")
        after = api.get("subscription", f"/v1/subscriptions/{subscription['id']}")
        assert [d["coupon_code"] for d in after["discounts"]] == [code]
        expect(page.get_by_test_id("retention-offer")).to_have_count(0)  # once per subscription


def test_a_customer_says_why_they_cancel(api: TenureClient, page: Page, catalog):
    _, subscription = open_portal(api, page, catalog["small"])
    page.get_by_label("Why are you leaving? (optional)").select_option("missing_features")
    page.get_by_label("Anything else? (optional)").fill("No CSV export.")
    page.get_by_role("button", name="Cancel the subscription").click()
    expect(page.get_by_role("status")).to_have_text("Your subscription is cancelled.")
    after = api.get("subscription", f"/v1/subscriptions/{subscription['id']}")
    assert after["cancellation_details"] == {"feedback": "missing_features", "comment": "No CSV export."}


def test_a_customer_on_the_free_plan_upgrades_back_from_the_portal(api: TenureClient, page: Page, catalog):
    free = plan(api, "Portal Free", 0)
    trial_plan = api.unique("portal-trial")
    api.post(
        "subscription",
        "/v1/plans",
        {"code": trial_plan, "name": "Portal Trial", "currency": "USD", "amount": 10000, "interval": "month", "trial_days": 7},
    )
    with account_settings(api, free_plan_code=free, trial_end_action="move_to_free_plan"):
        clock = api.create_clock("2026-06-01T00:00:00Z")
        customer, subscription = subscribe(api, clock, trial_plan, payment_method=None)
        api.advance(clock, "2026-06-08T00:00:00Z")
        assert api.get("subscription", f"/v1/subscriptions/{subscription['id']}")["on_free_plan"] is True
        link = api.post("subscription", "/v1/portal-sessions", {"customer_id": customer})
        page.goto(link["url"])
        page.get_by_label("Payment token").fill("pm_test_ok")
        page.get_by_role("button", name="Update the payment method").click()
        expect(page.get_by_role("status")).to_have_text("Your payment method is updated.")
        expect(page.get_by_role("heading", name="Upgrade")).to_be_visible()
        page.get_by_label("New plan").select_option(catalog["bigger"])
        page.get_by_role("button", name="Preview the change").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the plan change")
        page.get_by_role("button", name="Confirm the change").click()
        expect(page.get_by_role("status")).to_have_text("Your plan is changed.")
        after = api.get("subscription", f"/v1/subscriptions/{subscription['id']}")
        assert (after["plan_code"], after["on_free_plan"], after["id"]) == (catalog["bigger"], False, subscription["id"])
        api.wait_ready(clock)
        assert api.invoices(subscription_id=subscription["id"])[-1]["status"] == "paid"
