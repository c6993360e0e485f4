"""Console pages. Every fact comes from a service's public API, called with the operator's own key,
so the services decide what the key may see and do (401/403); the console only shows their answer."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import httpx
from dateutil.relativedelta import relativedelta
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from tenure_health.console.charts import line_chart
from tenure_shared.clock import real_now
from tenure_shared.money import format_amount
from tenure_shared.settings import SERVICES

HERE = Path(__file__).parent
KEY_COOKIE = "tenure_console_key"
ADMIN_COOKIE = "tenure_console_admin"  # only hides buttons; the services still check every call
# The first of these an item has places it on the timeline (emails and webhooks keep real time only).
TIME_FIELDS = ("at", "occurred_at", "issued_at", "attempted_at", "current_period_start", "next_retry_at", "created_at", "sent_at")
ACTIONS = {"replay": "dead-letters/{id}/replay", "discard": "dead-letters/{id}/discard", "retry": "jobs/{id}/retry"}

router = APIRouter(prefix="/console", include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")  # autoescapes .html


def _money(amount: int | None, currency: str | None) -> str:
    return "—" if amount is None or not currency else format_amount(amount, currency)


templates.env.filters["money"] = _money


class SignedOut(Exception):
    """The key is missing or a service refused it (401)."""


class Refused(Exception):
    """A service answered with a problem; `detail` says why (403: the key lacks the scope)."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


class Services:
    """The public APIs, called with the signed-in operator's key."""

    def __init__(self, request: Request):
        self.key = request.cookies.get(KEY_COOKIE)
        if not self.key:
            raise SignedOut()
        self.urls = request.app.state.settings.service_urls()

    async def call(self, method: str, service: str, path: str, params: dict[str, Any] | None = None) -> dict:
        params = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            async with httpx.AsyncClient(timeout=10, headers={"Authorization": f"Bearer {self.key}"}) as http:
                response = await http.request(method, self.urls[service] + path, params=params)
        except httpx.HTTPError as exc:
            raise Refused(502, f"{service} could not be reached ({type(exc).__name__}).") from exc
        if response.status_code == 401:
            raise SignedOut()
        if response.status_code >= 400:
            body = response.json() if response.headers.get("content-type", "").endswith("json") else {}
            raise Refused(response.status_code, body.get("detail") or body.get("title") or response.reason_phrase)
        return response.json()

    async def get(self, service: str, path: str, **params: Any) -> dict:
        return await self.call("GET", service, path, params)

    async def get_or_refusal(self, service: str, path: str, **params: Any) -> dict:
        """The answer, or {"refused": why} so a page can show the rest and say what it cannot show."""
        try:
            return await self.get(service, path, **params)
        except Refused as refusal:
            return {"refused": refusal.detail, "data": []}


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    clock = request.query_params.get("clock", "")
    context |= {"clock": clock, "clock_query": urlencode({"clock": clock}) if clock else "", "services": SERVICES}
    context |= {"admin": request.cookies.get(ADMIN_COOKIE) == "1", "notice": request.query_params.get("notice")}
    context |= {"error": context.get("error") or request.query_params.get("error")}
    return templates.TemplateResponse(request, name, context)


def _when(item: dict) -> str:
    return next((str(item[f]) for f in TIME_FIELDS if item.get(f)), "")


# ---- signing in ---------------------------------------------------------------------------------------


@router.get("/sign-in")
async def sign_in_form(request: Request) -> HTMLResponse:
    return _page(request, "sign_in.html")


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    key = parse_qs((await request.body()).decode()).get("api_key", [""])[0].strip()
    urls = request.app.state.settings.service_urls()
    async with httpx.AsyncClient(timeout=10, headers={"Authorization": f"Bearer {key}"}) as http:
        seen = await http.get(urls["health-score"] + "/v1/health/summary")
        admin = await http.get(urls["health-score"] + "/v1/ops") if seen.status_code == 200 else None
    if seen.status_code != 200:
        return _page(request, "sign_in.html", error="That API key was refused. Check it and try again.")
    response = RedirectResponse("/console", status_code=303)
    secure = request.url.scheme == "https"
    for name, value in ((KEY_COOKIE, key), (ADMIN_COOKIE, "1" if admin is not None and admin.status_code == 200 else "0")):
        response.set_cookie(name, value, httponly=True, samesite="strict", path="/console", secure=secure)
    return response


@router.post("/sign-out")
async def sign_out() -> Response:
    response = RedirectResponse("/console/sign-in", status_code=303)
    response.delete_cookie(KEY_COOKIE, path="/console")
    response.delete_cookie(ADMIN_COOKIE, path="/console")
    return response


# ---- pages ----------------------------------------------------------------------------------------------


@router.get("")
async def overview(request: Request) -> HTMLResponse:
    services = Services(request)
    clock = request.query_params.get("clock")
    summary = await services.get("health-score", "/v1/health/summary", test_clock_id=clock)
    docs = {service: url + "/docs" for service, url in services.urls.items()}
    return _page(request, "overview.html", summary=summary, docs=docs)


@router.get("/customers")
async def customers(request: Request, status: str = "", sort: str = "score") -> HTMLResponse:
    services = Services(request)
    clock = request.query_params.get("clock")
    listed = await services.get("health-score", "/v1/health", status=status, sort=sort, test_clock_id=clock, limit=50)
    details = await asyncio.gather(
        *(services.get("health-score", f"/v1/customers/{quote(c['customer_id'], safe='')}/health") for c in listed["data"])
    )
    for detail in details:  # the two factors pulling the score down most
        weakest = sorted((f for f in detail["factors"] if f["score"] is not None), key=lambda f: f["score"])
        detail["reasons"] = [f["detail"] for f in weakest[:2]]
    return _page(request, "customers.html", customers=details, status=status, sort=sort)


@router.get("/customers/{customer_id}")
async def customer(request: Request, customer_id: str) -> HTMLResponse:
    services = Services(request)
    health = await services.get_or_refusal("health-score", f"/v1/customers/{quote(customer_id, safe='')}/health")
    lists: dict[tuple[str, str], tuple[str, dict[str, str | int]]] = {
        ("subscription", "subscription"): ("/v1/subscriptions", {"customer_id": customer_id}),
        ("invoicing", "invoice"): ("/v1/invoices", {"customer_id": customer_id, "limit": 100}),
        ("dunning", "dunning case"): ("/v1/dunning-cases", {"customer_id": customer_id, "limit": 100}),
        ("credit", "credit note"): ("/v1/credit-notes", {"customer_id": customer_id, "limit": 100}),
        ("notification", "email"): ("/v1/emails", {"customer_id": customer_id, "limit": 100}),
    }
    answers = await asyncio.gather(*(services.get_or_refusal(svc, path, **params) for (svc, _), (path, params) in lists.items()))
    timeline: list[dict] = []
    refusals = [a["refused"] for a in answers if "refused" in a]
    for (service, kind), answer in zip(lists, answers, strict=True):
        timeline += [{"service": service, "kind": kind, "at": _when(item), "item": item} for item in answer["data"]]
    # Per-item lists: each subscription's timeline and each invoice's payments.
    per_item: list[tuple[str, str, str, dict[str, str | int]]] = [
        ("subscription", "event", f"/v1/subscriptions/{quote(e['item']['id'], safe='')}/timeline", {})
        for e in timeline
        if e["kind"] == "subscription"
    ]
    per_item += [
        ("invoicing", "payment", "/v1/payments", {"invoice_id": e["item"]["id"], "limit": 100})
        for e in timeline
        if e["kind"] == "invoice"
    ]
    answers = await asyncio.gather(*(services.get_or_refusal(svc, path, **params) for svc, _, path, params in per_item))
    for (service, kind, _, _), answer in zip(per_item, answers, strict=True):
        timeline += [{"service": service, "kind": kind, "at": _when(item), "item": item} for item in answer["data"]]
    timeline.sort(key=lambda e: e["at"], reverse=True)
    return _page(request, "customer.html", customer_id=customer_id, health=health, timeline=timeline, refusals=refusals)


@router.get("/renewals")
async def renewals(request: Request, within_days: int = 30, forecast: str = "") -> HTMLResponse:
    services = Services(request)
    clock = request.query_params.get("clock")
    found = await services.get("health-score", "/v1/renewals", within_days=within_days, forecast=forecast, test_clock_id=clock)
    return _page(request, "renewals.html", renewals=found["data"], within_days=within_days, forecast=forecast)


@router.get("/dunning")
async def dunning(request: Request, status: str = "") -> HTMLResponse:
    cases = await Services(request).get("dunning", "/v1/dunning-cases", status=status, limit=100)
    return _page(request, "dunning.html", cases=cases["data"], status=status)


@router.get("/reports")
async def reports(request: Request, interval: str = "month", months: int = 6) -> HTMLResponse:
    services = Services(request)
    clock = request.query_params.get("clock")
    # The window ends at the clock's time (or now) and reaches `months` back.
    end = (
        datetime.fromisoformat((await services.get("subscription", f"/v1/test-clocks/{quote(clock, safe='')}"))["frozen_time"])
        if clock
        else real_now()
    )
    window = {"from": (end - relativedelta(months=months)).isoformat(), "to": end.isoformat(), "test_clock_id": clock}
    mrr, retention = await asyncio.gather(
        services.get_or_refusal("health-score", "/v1/reports/mrr", interval=interval, **window),
        services.get_or_refusal("health-score", "/v1/reports/retention", **window),
    )
    chart = line_chart([(str(p["at"])[:10], p["mrr"]) for p in mrr["data"]])
    rates = {k: v for k, v in retention.items() if isinstance(v, int | float | str) and k != "refused"}
    return _page(
        request, "reports.html", mrr=mrr, chart=chart, rates=rates, retention=retention, interval=interval, months=months
    )


@router.get("/operations")
async def operations(request: Request) -> HTMLResponse:
    services = Services(request)

    async def of(service: str) -> dict:
        view, letters, jobs = await asyncio.gather(
            services.get_or_refusal(service, "/v1/ops"),
            services.get_or_refusal(service, "/v1/dead-letters", limit=50),
            services.get_or_refusal(service, "/v1/jobs", status="failed", limit=50),
        )
        return {"service": service, "view": view, "dead_letters": letters, "jobs": jobs}

    return _page(request, "operations.html", rows=await asyncio.gather(*(of(s) for s in SERVICES)))


@router.post("/operations/{service}/{action}/{item_id}")
async def operate(request: Request, service: str, action: str, item_id: str) -> Response:
    if service not in SERVICES or action not in ACTIONS:
        return _page(request, "error.html", error="There is no such operation.")
    try:
        await Services(request).call("POST", service, "/v1/" + ACTIONS[action].format(id=quote(item_id, safe="")))
        outcome = {"notice": f"{service}: {action} of {item_id} accepted."}
    except Refused as refusal:
        outcome = {"error": f"{service} refused to {action} {item_id}: {refusal.detail}"}
    return RedirectResponse("/console/operations?" + urlencode(outcome), status_code=303)


@router.get("/messages")
async def messages(request: Request) -> HTMLResponse:
    services = Services(request)
    emails, endpoints = await asyncio.gather(
        services.get_or_refusal("notification", "/v1/emails", limit=50),
        services.get_or_refusal("notification", "/v1/webhook-endpoints"),
    )
    deliveries = await asyncio.gather(
        *(
            services.get_or_refusal("notification", f"/v1/webhook-endpoints/{quote(e['id'], safe='')}/deliveries", limit=20)
            for e in endpoints["data"]
        )
    )
    return _page(
        request, "messages.html", emails=emails, endpoints=endpoints, deliveries=[d for ds in deliveries for d in ds["data"]]
    )


def install_console(app: FastAPI) -> None:
    """Mounts the console (pages, its stylesheet and script) outside /v1."""

    @app.exception_handler(SignedOut)
    async def signed_out(request: Request, _: SignedOut) -> Response:
        to_sign_in = "/console/sign-in?" + urlencode({"error": "Please sign in with an API key."})
        response = RedirectResponse(to_sign_in, status_code=303)
        response.delete_cookie(KEY_COOKIE, path="/console")
        return response

    @app.exception_handler(Refused)
    async def refused(request: Request, refusal: Refused) -> Response:
        response = _page(request, "error.html", error=f"The service refused: {refusal.detail}")
        response.status_code = refusal.status if refusal.status < 500 else 502
        return response

    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.include_router(router)
