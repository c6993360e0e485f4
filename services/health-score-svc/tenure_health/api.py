"""health-score-svc's public routes."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel

from tenure_health import reports, repository, service, signals
from tenure_health.csv_out import csv_response, wants_csv
from tenure_health.errors import HealthNotFound, InvalidBacktestWindow, InvalidSignalBatch, InvalidSort
from tenure_health.models import HealthCustomer, HealthScore
from tenure_health.schemas import FactorOut, HealthListItem, HealthOut, HistoryItem, ListOut, SignalsOut, SummaryOut, TrendOut
from tenure_health.scoring import FACTORS, HealthModel
from tenure_shared.app import DbSession
from tenure_shared.auth import require_admin
from tenure_shared.clock import business_now
from tenure_shared.openapi import problem_responses
from tenure_shared.pagination import Page, page_params

router = APIRouter()
SORTS = ("score", "-score")
STATUSES = ("healthy", "at_risk", "critical")
STAGES = ("onboarding", "adoption", "renewal", "expansion", "churned")


async def _scored(session: DbSession, customer_id: str) -> HealthCustomer:
    customer = await repository.get_customer(session, customer_id)
    if customer is None or customer.score is None:
        raise HealthNotFound(f"No health computed for customer {customer_id} (yet).")
    return customer


@router.get("/customers/{customer_id}/health", tags=["health"])
async def get_health(customer_id: str, session: DbSession) -> HealthOut:
    customer = await _scored(session, customer_id)
    ttfv = customer.first_value_at - customer.started_at if customer.first_value_at and customer.started_at else None
    assert customer.factors is not None  # written in the same UPDATE as the score
    factors = sorted(customer.factors, key=lambda f: FACTORS.index(f["name"]))
    return HealthOut(
        customer_id=customer.id,
        score=customer.score,
        status=customer.status,
        lifecycle_stage=customer.stage,
        profile=customer.profile,
        factors=[FactorOut(**f) for f in factors],
        trend=TrendOut(**await service.trend(session, customer)),
        first_value_at=customer.first_value_at,
        time_to_first_value=ttfv if ttfv is None or ttfv.total_seconds() >= 0 else None,
        computed_at=customer.computed_at,
    )


def _history_item(row: HealthScore) -> HistoryItem:
    return HistoryItem(id=row.id, score=row.score, status=row.status, lifecycle_stage=row.stage, computed_at=row.computed_at)


@router.get("/customers/{customer_id}/health/history", tags=["health"])
async def get_history(customer_id: str, session: DbSession, page: Page = Depends(page_params)) -> ListOut:
    await _scored(session, customer_id)
    rows, more = await repository.history(session, customer_id, page)
    return ListOut(data=[_history_item(r) for r in rows], has_more=more)


def _checked(value: str | None, allowed: tuple[str, ...], name: str) -> str | None:
    if value and value not in allowed:
        raise InvalidSort(f"`{name}` is one of {', '.join(allowed)}.", code=f"invalid_{name}")
    return value


@router.get("/health", tags=["health"])
async def list_health(
    session: DbSession,
    status: str | None = Query(None),
    stage: str | None = Query(None),
    sort: str | None = Query(None, description="score or -score; by customer id when absent"),
    test_clock_id: str | None = Query(None, description="Only this clock's customers; without it, real-time customers only"),
    page: Page = Depends(page_params),
) -> ListOut:
    rows, more = await repository.list_health(
        session,
        page,
        clock_id=test_clock_id or None,
        status=_checked(status, STATUSES, "status"),
        stage=_checked(stage, STAGES, "stage"),
        sort=_checked(sort, SORTS, "sort"),
    )
    items = [
        HealthListItem(
            id=c.id, customer_id=c.id, score=c.score, status=c.status, lifecycle_stage=c.stage, computed_at=c.computed_at
        )
        for c in rows
    ]
    return ListOut(data=items, has_more=more)


@router.get("/health/summary", tags=["health"])
async def health_summary(session: DbSession, test_clock_id: str | None = Query(None)) -> SummaryOut:
    by_status, by_stage = await repository.summary(session, test_clock_id or None)
    return SummaryOut(
        total=sum(by_status.values()),
        by_status={s: by_status.get(s, 0) for s in STATUSES},
        by_stage={s: by_stage.get(s, 0) for s in STAGES},
    )


@router.get("/health-model", tags=["health model"])
async def get_health_model(session: DbSession) -> HealthModel:
    return await service.get_model(session)


class BacktestWindow(BaseModel):
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    horizon_days: int = 30
    test_clock_id: str | None = None


def backtest_window(
    start: AwareDatetime | None = Query(None, alias="from"),
    end: AwareDatetime | None = Query(None, alias="to"),
    horizon_days: int = Query(30, ge=1, le=365),
    test_clock_id: str | None = Query(None),
) -> BacktestWindow:
    return BacktestWindow(start=start, end=end, horizon_days=horizon_days, test_clock_id=test_clock_id or None)


async def _backtest(session: DbSession, window: BacktestWindow, candidate: HealthModel | None) -> dict[str, Any]:
    if window.start is None or window.end is None or window.start >= window.end:
        raise InvalidBacktestWindow("A backtest needs `from` before `to`.")
    return await service.backtest(
        session,
        start=window.start,
        end=window.end,
        horizon_days=window.horizon_days,
        clock_id=window.test_clock_id,
        candidate=candidate,
    )


@router.get("/health-model/backtest", tags=["health model"])
async def get_backtest(session: DbSession, window: BacktestWindow = Depends(backtest_window)) -> dict[str, Any]:
    """How well the model in force predicted the renewals and churn in [from, to)."""
    return await _backtest(session, window, None)


@router.put("/health-model", tags=["health model"], dependencies=[Depends(require_admin)])
async def put_health_model(
    session: DbSession,
    body: dict[str, Any] = Body(...),
    dry_run: bool = Query(False, description="validate (and backtest, given from and to) only; store nothing"),
    window: BacktestWindow = Depends(backtest_window),
) -> dict[str, Any]:
    """Replace the model; with dry_run=true, return the candidate and its backtest instead."""
    if not dry_run:
        return (await service.put_model(session, body=body)).model_dump(mode="json")
    candidate = service.validate_model(body)
    backtest = await _backtest(session, window, candidate) if window.start or window.end else None
    return {"model": candidate.model_dump(mode="json"), "backtest": backtest}


async def _json(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise InvalidSignalBatch("The request body is not valid JSON.", code="malformed_json") from None


_BATCH_DOC = "Up to 1000 a call, deduplicated by id; valid items are stored, invalid ones listed in `errors`."


@router.post("/signals/tickets", tags=["signals"], summary="Support tickets", description=_BATCH_DOC)
async def post_tickets(request: Request, session: DbSession) -> SignalsOut:
    return await signals.record_signals(session, kind="tickets", body=await _json(request))


@router.post("/signals/surveys", tags=["signals"], summary="NPS and CSAT answers", description=_BATCH_DOC)
async def post_surveys(request: Request, session: DbSession) -> SignalsOut:
    return await signals.record_signals(session, kind="surveys", body=await _json(request))


@router.post("/signals/activity", tags=["signals"], summary="Product activity", description=_BATCH_DOC)
async def post_activity(request: Request, session: DbSession) -> SignalsOut:
    return await signals.record_signals(session, kind="activity", body=await _json(request))


# ---- retention reports and renewals ----------------------------------------------------------------


@router.get("/reports/retention", tags=["reports"])
async def get_retention_report(
    request: Request,
    session: DbSession,
    start: AwareDatetime | None = Query(None, alias="from"),
    end: AwareDatetime | None = Query(None, alias="to"),
    currency: str | None = Query(None, description="Needed when the customers bill in more than one currency"),
    test_clock_id: str | None = Query(None, description="Only this clock's customers; without it, real-time customers only"),
) -> Any:
    """MRR at both ends of [from, to), its movements, GRR, NRR, logo churn, renewal rate, average deal value."""
    start, end = reports.check_window(start, end)
    report = await reports.retention_report(session, start=start, end=end, currency=currency, clock_id=test_clock_id or None)
    return csv_response([report]) if wants_csv(request) else report


@router.get("/reports/mrr", tags=["reports"])
async def get_mrr_series(
    request: Request,
    session: DbSession,
    start: AwareDatetime | None = Query(None, alias="from"),
    end: AwareDatetime | None = Query(None, alias="to"),
    interval: str = Query("month", description="day, week or month"),
    currency: str | None = Query(None),
    test_clock_id: str | None = Query(None),
) -> Any:
    """MRR at `from`, at every `interval` after it, and at `to`."""
    start, end = reports.check_window(start, end)
    series = await reports.mrr_series(
        session, start=start, end=end, interval=interval, currency=currency, clock_id=test_clock_id or None
    )
    return csv_response(series["data"], ["at", "mrr"]) if wants_csv(request) else series


@router.get("/renewals", tags=["renewals"], responses=problem_responses(404))
async def list_renewals(
    request: Request,
    session: DbSession,
    within_days: int = Query(30),
    forecast: str | None = Query(None, description="renew, upsell, downgrade, churn or at_risk"),
    sort: str | None = Query(None, description="renews_at (default), expected_amount or mrr; - for descending"),
    test_clock_id: str | None = Query(None),
) -> Any:
    """Subscriptions renewing within `within_days` of the (clock's) current time, with a forecast and its reasons."""
    clock_id = test_clock_id or None
    items = await reports.renewals(
        session,
        now=await business_now(session, clock_id),
        within_days=within_days,
        clock_id=clock_id,
        forecast=_checked(forecast, reports.FORECASTS, "forecast"),
        sort=_checked(sort, tuple(reports.RENEWAL_SORTS), "sort"),
    )
    return csv_response(items) if wants_csv(request) else {"data": items}
