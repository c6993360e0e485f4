"""Billable metrics: the catalog's usage meters, and the metered charges subscription events carry.

Metrics are announced (`metric.created` on tenure.subscriptions, keyed by the metric code) so
invoicing keeps a replica for validating and showing usage; the prices themselves travel in every
subscription event (`SubscriptionData.metered_charges`), so renewals are priced without calling back.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.clock import real_now
from tenure_shared.errors import InvalidRequest
from tenure_shared.events import SUBSCRIPTIONS, MeteredChargeData, MetricData
from tenure_shared.outbox import add_event
from tenure_shared.pagination import Page, paginate
from tenure_subscription.config import SERVICE
from tenure_subscription.errors import MetricAlreadyExists, MetricNotFound
from tenure_subscription.models import Metric, Plan
from tenure_subscription.schemas import MetricIn, PlanIn


async def get_metric(session: AsyncSession, code: str) -> Metric:
    metric = await session.get(Metric, code)
    if metric is None:
        raise MetricNotFound(f"No metric with code {code!r}.")
    return metric


async def list_metrics(session: AsyncSession, page: Page) -> tuple[list[Metric], bool]:
    return await paginate(session, select(Metric), Metric.code, page)


async def create_metric(session: AsyncSession, *, data: MetricIn) -> Metric:
    """Add a billable metric to the catalog and announce it."""
    if await session.get(Metric, data.code) is not None:
        raise MetricAlreadyExists(f"A metric with code {data.code!r} exists already.")
    metric = Metric(code=data.code, name=data.name, aggregation=data.aggregation, property=data.property)
    session.add(metric)
    await session.flush()
    # Catalog items belong to no customer: the metric code is the key, and no test clock counts it.
    await add_event(
        session,
        source=SERVICE,
        topic=SUBSCRIPTIONS,
        event_type="metric.created",
        customer_id=metric.code,
        data=MetricData(code=metric.code, name=metric.name, aggregation=metric.aggregation, property=metric.property),
        business_time=real_now(),
        clock_id=None,
    )
    return metric


async def check_plan_metrics(session: AsyncSession, *, data: PlanIn) -> None:
    """A plan's metered charges must name existing metrics, each at most once."""
    codes = [charge.metric_code for charge in data.metered_charges]
    if len(set(codes)) != len(codes):
        raise InvalidRequest("A plan charges each metric at most once.", code="duplicate_metered_charge")
    for code in codes:
        await get_metric(session, code)


async def metered_charges_for(session: AsyncSession, plan: Plan) -> list[MeteredChargeData]:
    """The plan's metered charges, each with its metric's aggregation, as subscription events carry them."""
    if not plan.metered_charges:
        return []
    codes = [charge["metric_code"] for charge in plan.metered_charges]
    metrics = {m.code: m for m in (await session.scalars(select(Metric).where(Metric.code.in_(codes)))).all()}
    charges = []
    for charge in plan.metered_charges:
        metric = metrics.get(charge["metric_code"])
        charges.append(
            MeteredChargeData(
                metric_code=charge["metric_code"],
                metric_name=metric.name if metric else None,
                aggregation=metric.aggregation if metric else "sum",
                property=metric.property if metric else None,
                model=charge.get("model", "per_unit"),
                unit_amount=charge.get("unit_amount", 0),
                included_units=charge.get("included_units", 0),
                package_size=charge.get("package_size", 1),
                tiers=charge.get("tiers") or [],
            )
        )
    return charges
