"""The portal's pages and form actions. Each action calls a service's public API as the customer
(`PortalClient` with the portal session credential), then redirects back to the overview (303) with
a notice; a refusal from the API is shown on the page as its readable `detail`, never as a 500."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import get_args
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from tenure_shared.errors import TenureError
from tenure_shared.money import format_amount
from tenure_subscription.access.portal_sessions import portal_credential, portal_principal
from tenure_subscription.portal.client import PortalApiError, PortalClient
from tenure_subscription.schemas import CancellationFeedback

HERE = Path(__file__).parent
templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
templates.filters["money"] = lambda amount, currency: format_amount(amount, currency)
templates.filters["day"] = lambda instant: instant[:10] if instant else ""  # ISO 8601 from the APIs


def offer_terms(offer: dict) -> str:
    """A retention offer in words: "20% off for 3 periods, from your next renewal." """
    if offer["percent_off"] is not None:
        amount = f"{offer['percent_off']:g}% off"
    else:
        amount = f"{format_amount(offer['amount_off'], offer['currency'])} off"
    spans = {"forever": "every period", "once": "your next period"}
    span = spans.get(offer["duration"], f"for {offer['duration_in_periods']} periods")
    return f"{amount} {span}, from your next renewal."


templates.filters["offer_terms"] = offer_terms

router = APIRouter(include_in_schema=False)

NOTICES = {
    "paused": "Your subscription is paused.",
    "resumed": "Your subscription is running again.",
    "cancelled": "Your subscription is cancelled.",
    "reactivated": "Your subscription is active again.",
    "changed": "Your plan is changed.",
    "scheduled": "Your plan change is scheduled for your renewal date.",
    "payment_method": "Your payment method is updated.",
    "offer_accepted": "Thank you for staying: the offer applies from your next period.",
    "quote_accepted": "You accepted the quote: the change is made as it says.",
    "quote_declined": "You declined the quote.",
}


# How the form words each cancellation feedback answer; the answers themselves are the API's
# (CancellationFeedback), so one added there without words here fails at import.
FEEDBACK_WORDS = {
    "too_expensive": "It is too expensive",
    "missing_features": "Features I need are missing",
    "switched_service": "I switched to another service",
    "unused": "I do not use it enough",
    "customer_service": "Customer service was not good enough",
    "too_complex": "It is too complicated",
    "low_quality": "The quality was not good enough",
    "other": "Another reason",
}
FEEDBACK_CHOICES = [(answer, FEEDBACK_WORDS[answer]) for answer in get_args(CancellationFeedback)]


class CsrfRefused(TenureError):
    status, code, title = 403, "csrf_token_invalid", "Forbidden"


class Portal:
    """One request's view of the portal: who the customer is and a client acting as them."""

    def __init__(self, request: Request, customer_id: str, credential: str):
        self.request = request
        self.customer_id = customer_id
        self.api = PortalClient(request.app.state.settings, credential)
        # Derived from the HttpOnly session credential, which another site can neither read nor guess.
        self.csrf_token = hmac.new(b"tenure-portal-csrf", credential.encode(), hashlib.sha256).hexdigest()

    def render(self, template: str, status_code: int = 200, **context) -> HTMLResponse:
        html = templates.get_template(template).render(csrf_token=self.csrf_token, customer_id=self.customer_id, **context)
        return HTMLResponse(html, status_code=status_code)

    async def form(self) -> dict[str, str]:
        """The posted form, after checking its CSRF token."""
        fields = dict(parse_qsl((await self.request.body()).decode()))
        if not hmac.compare_digest(fields.get("csrf_token", ""), self.csrf_token):
            raise CsrfRefused("This form has expired; reload the page and try again.")
        return fields

    async def plans(self) -> dict[str, dict]:
        """The catalog's plans on sale, by code (every page of the list)."""
        plans: dict[str, dict] = {}
        cursor: str | None = None
        while True:
            params = {"limit": "100"} | ({"starting_after": cursor} if cursor else {})
            answer = await self.api.get("subscription", "/v1/plans", **params)
            plans |= {p["code"]: p for p in answer["data"]}
            if not answer["has_more"] or not answer["data"]:
                return plans
            cursor = answer["data"][-1]["code"]

    async def subscription(self) -> dict | None:
        """The customer's current subscription: the newest one still running, else the newest one."""
        subscriptions = (await self.api.get("subscription", "/v1/subscriptions"))["data"]
        running = [s for s in subscriptions if s["status"] not in ("cancelled", "expired")]
        return (running or subscriptions or [None])[0]


async def portal(request: Request) -> Portal:
    principal = await portal_principal(request)
    credential = portal_credential(request)
    # portal_principal authenticated this very credential as a customer-scoped principal.
    assert principal.customer_id is not None and credential is not None
    return Portal(request, principal.customer_id, credential)


def sub_path(subscription: dict, action: str = "") -> str:
    return f"/v1/subscriptions/{quote(subscription['id'], safe='')}" + action


def day_to_instant(day: str) -> str:
    """A date from an `<input type=date>` as the start of that day (UTC)."""
    return f"{day}T00:00:00Z" if day else ""


@router.get("/portal/static/portal.css")
async def stylesheet() -> FileResponse:
    return FileResponse(HERE / "static" / "portal.css", media_type="text/css")


@router.get("/portal")
async def overview(request: Request, notice: str = "") -> HTMLResponse:
    page = await portal(request)
    return await render_overview(page, notice=NOTICES.get(notice))


async def render_overview(page: Portal, *, notice: str | None = None, error: PortalApiError | None = None) -> HTMLResponse:
    try:
        customer = await page.api.get("subscription", f"/v1/customers/{quote(page.customer_id, safe='')}")
        subscription = await page.subscription()
        plans = list((await page.plans()).values())
    except PortalApiError as failure:
        return page.render("overview.html", status_code=failure.status, error=failure.message, customer=None, subscription=None)
    plan = next((p for p in plans if subscription and p["code"] == subscription["plan_code"]), None)
    open_quotes, retention_offer = [], None
    if subscription:
        try:
            retention_offer = await page.api.get("subscription", sub_path(subscription, "/retention-offer"))
        except PortalApiError:
            pass  # no offer (404 no_retention_offer) or none to be had right now
        try:
            listed = await page.api.get("subscription", "/v1/quotes", subscription_id=subscription["id"], status="open")
            open_quotes = listed["data"]
        except PortalApiError:
            pass  # the rest of the page is still worth showing
    upcoming, upcoming_note = None, None
    if subscription and subscription["status"] in ("active", "trialing") and not subscription["cancel_at_period_end"]:
        try:
            upcoming = await page.api.get("invoicing", "/v1/invoices/upcoming", subscription_id=subscription["id"])
        except PortalApiError as failure:
            upcoming_note = failure.message
    return page.render(
        "overview.html",
        status_code=error.status if error else 200,
        customer=customer,
        subscription=subscription,
        plan=plan,
        other_plans=[p for p in plans if not plan or (p["code"] != plan["code"] and p["currency"] == plan["currency"])],
        upcoming=upcoming,
        upcoming_note=upcoming_note,
        quotes=open_quotes,
        retention_offer=retention_offer,
        feedback_choices=FEEDBACK_CHOICES,
        notice=notice,
        error=error.message if error else None,
    )


@router.get("/portal/documents")
async def documents(request: Request) -> HTMLResponse:
    page = await portal(request)
    try:
        invoices = (await page.api.get("invoicing", "/v1/invoices", limit="100"))["data"]
        credit_notes = (await page.api.get("credit", "/v1/credit-notes", limit="100"))["data"]
    except PortalApiError as failure:
        return page.render("documents.html", status_code=failure.status, error=failure.message, invoices=[], credit_notes=[])
    return page.render("documents.html", invoices=invoices, credit_notes=credit_notes)


@router.get("/portal/invoices/{invoice_id}/pdf")
async def invoice_pdf(invoice_id: str, request: Request) -> Response:
    return await document_pdf(request, "invoicing", f"/v1/invoices/{quote(invoice_id, safe='')}/pdf")


@router.get("/portal/credit-notes/{credit_note_id}/pdf")
async def credit_note_pdf(credit_note_id: str, request: Request) -> Response:
    return await document_pdf(request, "credit", f"/v1/credit-notes/{quote(credit_note_id, safe='')}/pdf")


@router.get("/portal/quotes/{quote_id}/pdf")
async def quote_pdf(quote_id: str, request: Request) -> Response:
    return await document_pdf(request, "subscription", f"/v1/quotes/{quote(quote_id, safe='')}/pdf")


async def document_pdf(request: Request, service: str, path: str) -> Response:
    page = await portal(request)
    try:
        answer = await page.api.request(service, "GET", path)
    except PortalApiError as failure:
        return page.render("documents.html", status_code=failure.status, error=failure.message, invoices=[], credit_notes=[])
    disposition = answer.headers.get("content-disposition", "attachment")
    return Response(answer.content, media_type="application/pdf", headers={"Content-Disposition": disposition})


async def act(page: Portal, call, notice: str) -> Response:
    """Run one API action; back to the overview with its notice, or the overview with the API's refusal."""
    try:
        await call()
    except PortalApiError as failure:
        return await render_overview(page, error=failure)
    return RedirectResponse(f"/portal?notice={notice}", status_code=303)


@router.post("/portal/payment-method")
async def update_payment_method(request: Request) -> Response:
    page = await portal(request)
    token = (await page.form()).get("payment_method", "").strip()
    path = f"/v1/customers/{quote(page.customer_id, safe='')}"
    return await act(page, lambda: page.api.patch("subscription", path, {"payment_method": token or None}), "payment_method")


@router.post("/portal/pause/preview")
async def preview_pause(request: Request) -> Response:
    """The exact credit the pause would earn, with a form to confirm it."""
    page = await portal(request)
    resume_at = day_to_instant((await page.form()).get("resume_on", ""))
    subscription = await page.subscription()
    if subscription is None:
        return await render_overview(page)
    try:
        body = {"subscription_id": subscription["id"]} | ({"resume_at": resume_at} if resume_at else {})
        preview = await page.api.post("credit", "/v1/credit-previews", body)
    except PortalApiError as failure:
        return await render_overview(page, error=failure)
    return page.render("confirm_pause.html", subscription=subscription, preview=preview, resume_at=resume_at)


@router.post("/portal/pause")
async def pause(request: Request) -> Response:
    page = await portal(request)
    resume_at = (await page.form()).get("resume_at", "")
    subscription = await page.subscription()
    if subscription is None:  # no form shows without one; a stray post just sees the page
        return await render_overview(page)
    body = {"resume_at": resume_at} if resume_at else {}
    return await act(page, lambda: page.api.post("subscription", sub_path(subscription, "/pause"), body), "paused")


@router.post("/portal/resume")
async def resume(request: Request) -> Response:
    page = await portal(request)
    await page.form()
    subscription = await page.subscription()
    if subscription is None:  # no form shows without one; a stray post just sees the page
        return await render_overview(page)
    return await act(page, lambda: page.api.post("subscription", sub_path(subscription, "/resume"), {}), "resumed")


@router.post("/portal/cancel")
async def cancel(request: Request) -> Response:
    page = await portal(request)
    fields = await page.form()
    body: dict = {"when": fields.get("when", "end_of_term")}
    feedback, comment = fields.get("feedback", ""), fields.get("comment", "").strip()
    if feedback or comment:
        body["cancellation_details"] = {"feedback": feedback or None, "comment": comment or None}
    subscription = await page.subscription()
    if subscription is None:  # no form shows without one; a stray post just sees the page
        return await render_overview(page)
    return await act(page, lambda: page.api.post("subscription", sub_path(subscription, "/cancel"), body), "cancelled")


@router.post("/portal/retention-offer")
async def accept_retention_offer(request: Request) -> Response:
    page = await portal(request)
    await page.form()
    subscription = await page.subscription()
    if subscription is None:  # no form shows without one; a stray post just sees the page
        return await render_overview(page)
    path = sub_path(subscription, "/retention-offer/accept")
    return await act(page, lambda: page.api.post("subscription", path), "offer_accepted")


@router.post("/portal/reactivate")
async def reactivate(request: Request) -> Response:
    page = await portal(request)
    await page.form()
    subscriptions = (await page.api.get("subscription", "/v1/subscriptions"))["data"]
    if not subscriptions:  # no form shows without one; a stray post just sees the page
        return await render_overview(page)
    subscription = subscriptions[0]
    return await act(page, lambda: page.api.post("subscription", sub_path(subscription, "/reactivate"), {}), "reactivated")


async def change_request(page: Portal) -> tuple[dict, dict]:
    """The subscription and the change the form asks for: upgrades now, downgrades at renewal unless
    the customer chose otherwise."""
    fields = await page.form()
    subscription = await page.subscription()
    if subscription is None:  # no form shows without one
        raise PortalApiError("You have no subscription to change.", status=404, code="subscription_not_found")
    plans = await page.plans()
    wanted, current = plans.get(fields.get("plan_code", "")), plans.get(subscription["plan_code"])
    when = fields.get("when", "")
    if when not in ("now", "end_of_term"):
        upgrade = wanted is None or current is None or current["is_free"] or wanted["amount"] >= current["amount"]
        when = "now" if upgrade else "end_of_term"
    return subscription, {"plan_code": fields.get("plan_code", ""), "when": when}


@router.post("/portal/change/preview")
async def preview_change(request: Request) -> Response:
    """The exact proration of the change (subscription-svc's preview), with a form to confirm it."""
    page = await portal(request)
    try:
        subscription, change = await change_request(page)
        preview = await page.api.post("subscription", sub_path(subscription, "/changes/preview"), change)
    except PortalApiError as failure:
        return await render_overview(page, error=failure)
    return page.render("confirm_change.html", subscription=subscription, change=change, preview=preview)


@router.post("/portal/change")
async def change(request: Request) -> Response:
    page = await portal(request)
    try:
        subscription, wanted = await change_request(page)
    except PortalApiError as failure:
        return await render_overview(page, error=failure)
    notice = "changed" if wanted["when"] == "now" else "scheduled"
    return await act(page, lambda: page.api.post("subscription", sub_path(subscription, "/changes"), wanted), notice)


@router.post("/portal/quotes/{quote_id}/accept")
async def accept_quote(quote_id: str, request: Request) -> Response:
    return await quote_action(request, quote_id, "accept", "quote_accepted")


@router.post("/portal/quotes/{quote_id}/decline")
async def decline_quote(quote_id: str, request: Request) -> Response:
    return await quote_action(request, quote_id, "decline", "quote_declined")


async def quote_action(request: Request, quote_id: str, action: str, notice: str) -> Response:
    page = await portal(request)
    await page.form()
    path = f"/v1/quotes/{quote(quote_id, safe='')}/{action}"
    return await act(page, lambda: page.api.post("subscription", path), notice)
