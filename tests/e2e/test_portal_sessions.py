"""Portal sessions: a one-time link opens a session for one customer, and that session reaches that
customer's objects only, on every service (another customer's objects are "not found")."""

from __future__ import annotations

import httpx
import pytest

from tests.support.client import TenureClient
from tests.support.credits import manual_note, plan, subscribe

NOT_FOUND = "subscription_not_found"
# Every customer-scoped route: (service, method, path, body, the code refusing another customer's id).
# In this order they also succeed one after the other on the session's own subscription.
OWNED_ROUTES = [
    ("subscription", "GET", "/v1/customers/{customer}", None, "customer_not_found"),
    ("subscription", "PATCH", "/v1/customers/{customer}", {"payment_method": "pm_test_ok"}, "customer_not_found"),
    ("subscription", "GET", "/v1/subscriptions/{subscription}", None, "subscription_not_found"),
    ("subscription", "POST", "/v1/subscriptions/{subscription}/changes/preview", {"plan_code": "{bigger}"}, NOT_FOUND),
    ("subscription", "POST", "/v1/subscriptions/{subscription}/changes", {"plan_code": "{bigger}"}, NOT_FOUND),
    ("credit", "POST", "/v1/credit-previews", {"subscription_id": "{subscription}"}, "subscription_not_found"),
    ("invoicing", "GET", "/v1/invoices/upcoming?subscription_id={subscription}", None, "subscription_not_found"),
    ("invoicing", "GET", "/v1/invoices/{invoice}", None, "invoice_not_found"),
    ("credit", "GET", "/v1/credit-notes/{credit_note}", None, "credit_note_not_found"),
    ("credit", "GET", "/v1/customers/{customer}/credit-balance", None, "customer_not_found"),
    ("subscription", "POST", "/v1/subscriptions/{subscription}/cancel", {"when": "now"}, "subscription_not_found"),
    ("subscription", "POST", "/v1/subscriptions/{subscription}/reactivate", None, "subscription_not_found"),
    ("subscription", "POST", "/v1/subscriptions/{subscription}/pause", {}, "subscription_not_found"),
    ("subscription", "POST", "/v1/subscriptions/{subscription}/resume", {"resume_at": "2026-06-05T00:00:00Z"}, NOT_FOUND),
]
# Lists forced to the session's customer, whatever `customer_id` asks.
LIST_ROUTES = [
    ("subscription", "/v1/subscriptions"),
    ("invoicing", "/v1/invoices"),
    ("credit", "/v1/credit-notes"),
]
# The catalog: anyone's to read.
CATALOG_ROUTES = [("subscription", "/v1/plans"), ("subscription", "/v1/plans/{plan}"), ("subscription", "/v1/addons")]
# Not for a portal session: 403 whatever the ids.
UNMARKED_ROUTES = [
    ("subscription", "GET", "/v1/customers", None),
    ("subscription", "POST", "/v1/plans", {"code": "x", "name": "x", "currency": "USD", "amount": 1, "interval": "month"}),
    ("subscription", "GET", "/v1/api-keys", None),
    ("subscription", "POST", "/v1/portal-sessions", {"customer_id": "{other}"}),
    ("subscription", "GET", "/v1/subscriptions/{subscription}/timeline", None),
    ("invoicing", "POST", "/v1/invoices/{invoice}/void", {}),
    ("invoicing", "GET", "/v1/payments", None),
    ("credit", "POST", "/v1/credit-notes", {"customer_id": "{customer}", "amount": 1, "currency": "USD", "description": "x"}),
    ("credit", "GET", "/v1/refunds", None),
    ("dunning", "GET", "/v1/dunning-cases", None),
    ("health-score", "GET", "/v1/customers/{customer}/health", None),
    ("notification", "GET", "/v1/emails", None),
]


def fill(template, ids: dict[str, str]):
    if isinstance(template, str):
        return template.format(**ids)
    if isinstance(template, dict):
        return {k: fill(v, ids) for k, v in template.items()}
    return template


def customer_with_everything(api: TenureClient, clock: str, plan_code: str) -> dict[str, str]:
    customer, subscription = subscribe(api, clock, plan_code)
    invoice = api.invoices(customer_id=customer)[0]["id"]
    credit_note = manual_note(api, customer, 100)["id"]
    return {"customer": customer, "subscription": subscription["id"], "invoice": invoice, "credit_note": credit_note}


def open_session(api: TenureClient, customer: str) -> str:
    """A portal link opened as a browser would: the session credential from its cookie."""
    link = api.post("subscription", "/v1/portal-sessions", {"customer_id": customer, "return_url": "https://example.com/account"})
    opened = httpx.get(link["url"], follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/portal"
    return opened.cookies["tenure_portal_session"]


@pytest.fixture(scope="module")
def world(api: TenureClient) -> dict:
    clock = api.create_clock("2026-06-01T00:00:00Z")
    small, bigger = plan(api, "portal-small", 1000), plan(api, "portal-bigger", 3000)
    a = customer_with_everything(api, clock, small)
    b = customer_with_everything(api, clock, small)
    return {"clock": clock, "a": a, "b": b, "plan": small, "bigger": bigger, "session": open_session(api, a["customer"])}


def as_session(api: TenureClient, session: str, service: str, method: str, path: str, body=None) -> httpx.Response:
    return httpx.request(method, api.urls[service] + path, json=body, headers={"Authorization": f"Bearer {session}"}, timeout=60)


def test_a_portal_link_works_once_and_opens_a_session_cookie(api: TenureClient, world):
    link = api.post("subscription", "/v1/portal-sessions", {"customer_id": world["a"]["customer"]})
    assert link["url"].startswith(api.urls["subscription"] + "/portal/sessions/tk_link_") and link["expires_at"]
    opened = httpx.get(link["url"], follow_redirects=False)
    assert opened.status_code == 303
    cookie = opened.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    cookies = {"tenure_portal_session": opened.cookies["tenure_portal_session"]}
    page = httpx.get(api.urls["subscription"] + "/portal", cookies=cookies)
    assert page.status_code == 200 and world["a"]["customer"] in page.text
    again = httpx.get(link["url"], follow_redirects=False)
    assert again.status_code == 410 and again.json()["code"] == "portal_link_used"
    unknown = httpx.get(api.urls["subscription"] + "/portal/sessions/tk_link_nope", follow_redirects=False)
    assert unknown.status_code == 404
    assert httpx.get(api.urls["subscription"] + "/portal").status_code == 401


def test_a_portal_session_for_an_unknown_customer_is_refused(api: TenureClient):
    refused = api.request("subscription", "POST", "/v1/portal-sessions", json={"customer_id": "cus_nope"})
    assert refused.status_code == 404 and refused.json()["code"] == "customer_not_found"


def test_every_customer_scoped_route_refuses_another_customers_ids(api: TenureClient, world):
    b = world["b"]
    before = api.get("subscription", f"/v1/subscriptions/{b['subscription']}")
    ids = {**b, "bigger": world["bigger"], "plan": world["plan"]}
    for service, method, path, body, code in OWNED_ROUTES:
        answer = as_session(api, world["session"], service, method, fill(path, ids), fill(body, ids))
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["code"] == code, (method, path, answer.text)
    after = api.get("subscription", f"/v1/subscriptions/{b['subscription']}")
    assert (after["status"], after["plan_code"], after["pause"]) == (before["status"], before["plan_code"], before["pause"])


def test_lists_show_only_the_sessions_own_customer(api: TenureClient, world):
    a, b = world["a"], world["b"]
    for service, path in LIST_ROUTES:
        for asked in ({}, {"customer_id": b["customer"]}):
            query = f"?customer_id={asked['customer_id']}" if asked else ""
            answer = as_session(api, world["session"], service, "GET", path + query)
            assert answer.status_code == 200, (path, answer.text)
            owners = {item["customer_id"] for item in answer.json()["data"]}
            assert owners == {a["customer"]}, (path, asked, owners)


def test_routes_not_meant_for_customers_are_forbidden(api: TenureClient, world):
    ids = {**world["a"], "other": world["b"]["customer"]}
    for service, method, path, body in UNMARKED_ROUTES:
        answer = as_session(api, world["session"], service, method, fill(path, ids), fill(body, ids))
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["code"] == "insufficient_scope"


def test_a_session_changes_only_the_payment_method_of_its_customer(api: TenureClient, world):
    customer = world["a"]["customer"]
    refused = as_session(api, world["session"], "subscription", "PATCH", f"/v1/customers/{customer}", {"name": "Mallory"})
    assert refused.status_code == 403


def test_every_customer_scoped_route_serves_the_sessions_own_customer(api: TenureClient, world):
    ids = {**world["a"], "bigger": world["bigger"], "plan": world["plan"]}
    for service, path in CATALOG_ROUTES:
        assert as_session(api, world["session"], service, "GET", fill(path, ids)).status_code == 200, path
    for service, method, path, body, _ in OWNED_ROUTES:
        answer = as_session(api, world["session"], service, method, fill(path, ids), fill(body, ids))
        assert 200 <= answer.status_code < 300, (method, path, answer.text)
        if method != "GET":
            api.wait_ready(world["clock"])
    after = api.get("subscription", f"/v1/subscriptions/{ids['subscription']}")
    assert (after["plan_code"], after["pause"]["resume_at"]) == (world["bigger"], "2026-06-05T00:00:00Z")


def test_quotes_and_the_retention_offer_of_another_customer_are_not_found(api: TenureClient):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    small, bigger = plan(api, "quote-small", 1000), plan(api, "quote-bigger", 3000)
    mine, theirs = subscribe(api, clock, small), subscribe(api, clock, small)
    session = open_session(api, mine[0])

    def quote_for(subscription: dict) -> dict:
        draft = api.post("subscription", "/v1/quotes", {"subscription_id": subscription["id"], "plan_code": bigger})
        return api.post("subscription", f"/v1/quotes/{draft['id']}/finalize")

    their_quote = quote_for(theirs[1])
    for method, path in [
        ("GET", f"/v1/quotes/{their_quote['id']}"),
        ("GET", f"/v1/quotes/{their_quote['id']}/pdf"),
        ("POST", f"/v1/quotes/{their_quote['id']}/accept"),
        ("POST", f"/v1/quotes/{their_quote['id']}/decline"),
    ]:
        answer = as_session(api, session, "subscription", method, path)
        assert (answer.status_code, answer.json()["code"]) == (404, "quote_not_found"), (method, path)
    for method, path in [("GET", "/retention-offer"), ("POST", "/retention-offer/accept")]:
        answer = as_session(api, session, "subscription", method, f"/v1/subscriptions/{theirs[1]['id']}{path}")
        assert (answer.status_code, answer.json()["code"]) == (404, "subscription_not_found"), path
    assert api.get("subscription", f"/v1/quotes/{their_quote['id']}")["status"] == "open"

    my_draft = api.post("subscription", "/v1/quotes", {"subscription_id": mine[1]["id"], "plan_code": bigger})
    my_quote = quote_for(mine[1])
    listed = as_session(api, session, "subscription", "GET", f"/v1/quotes?customer_id={theirs[0]}").json()["data"]
    assert [q["id"] for q in listed] == [my_quote["id"]]  # its own finalized quotes only: no draft, no one else's
    hidden = as_session(api, session, "subscription", "GET", f"/v1/quotes/{my_draft['id']}")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "quote_not_found")
    accepted = as_session(api, session, "subscription", "POST", f"/v1/quotes/{my_quote['id']}/accept")
    assert (accepted.status_code, accepted.json()["status"]) == (200, "accepted")
