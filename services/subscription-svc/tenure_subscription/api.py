"""subscription-svc's public routes: thin, they parse, call a use case and shape the reply."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.app import DbSession
from tenure_shared.auth import (
    caller_customer_id,
    customer_scoped,
    ensure_customer_access,
    require_admin,
    require_internal_token,
    scoped_customer_id,
)
from tenure_shared.errors import Forbidden
from tenure_shared.events import CustomerData
from tenure_shared.internal_http import internal_client
from tenure_shared.openapi import problem_responses
from tenure_shared.pagination import Page, page_params
from tenure_subscription import repository
from tenure_subscription.access import routes as access_routes
from tenure_subscription.charges import figures
from tenure_subscription.errors import CustomerNotFound, SubscriptionNotFound
from tenure_subscription.models import (
    Coupon,
    Discount,
    PromotionCode,
    Subscription,
    TestClock,
)
from tenure_subscription.schemas import (
    AddonIn,
    AddonOut,
    AddonRef,
    CancelIn,
    ChangeIn,
    ChangeOut,
    CouponIn,
    CouponOut,
    CouponTerms,
    CreditPreviewOut,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    DiscountIn,
    DiscountOut,
    ListOut,
    MetricIn,
    MetricOut,
    NextRenewalOut,
    PauseIn,
    PauseOut,
    PauseReplyOut,
    PauseWindowIn,
    PauseWindowOut,
    PlanIn,
    PlanOut,
    PromotionCodeIn,
    PromotionCodeOut,
    ProrationOut,
    ReactivateIn,
    ResumeIn,
    RetentionOfferOut,
    ScheduledChangeOut,
    SettingsOut,
    SettingsPatch,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionStatusFilter,
    TestClockAdvance,
    TestClockIn,
    TestClockOut,
    TimelineEntryOut,
)
from tenure_subscription.service import (
    account_settings,
    addons,
    cancellation,
    catalog,
    changes,
    customers,
    discounts,
    lifecycle,
    metrics,
    pausing,
    reactivation,
    retention_offer,
    test_clocks,
    upcoming,
)

router = APIRouter()
router.include_router(access_routes.router)


async def own_subscription(subscription_id: str, request: Request, session: DbSession) -> None:
    """A route dependency: a portal session reaches only its own customer's subscriptions."""
    if caller_customer_id(request) is None:
        return
    owner = await session.scalar(select(Subscription.customer_id).where(Subscription.id == subscription_id))
    ensure_customer_access(request, owner, SubscriptionNotFound(f"No subscription {subscription_id}."))


OwnSubscription = Depends(own_subscription)


def subscription_out(subscription: Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=subscription.id,
        customer_id=subscription.customer_id,
        status=subscription.status,
        plan_code=subscription.plan_code,
        quantity=subscription.quantity,
        addons=[AddonRef(**ref) for ref in subscription.addons or []],
        current_period_start=subscription.current_period_start,
        current_period_end=subscription.current_period_end,
        trial_end=subscription.trial_end,
        renews_at=subscription.renews_at,
        pause=PauseOut(paused_at=subscription.pause_at, resume_at=subscription.resume_at) if subscription.pause_at else None,
        access=pausing.access(subscription),
        cancel_at_period_end=subscription.cancel_at_period_end,
        cancelled_at=subscription.cancelled_at,
        cancellation_details=subscription.cancellation_details(),
        on_free_plan=subscription.on_free_plan,
        last_paid_plan_code=subscription.last_paid_plan_code,
        unpaid=subscription.unpaid,
        scheduled_changes=[scheduled_change_out(c) for c in subscription.scheduled_changes or []],
        discounts=[discount_out(d) for d in discounts.running(subscription) if discounts.is_listed(d, subscription)],
    )


def discount_out(discount: Discount) -> DiscountOut:
    return DiscountOut(
        id=discount.id,
        coupon_code=discount.coupon_code,
        promotion_code=discount.promotion_code,
        percent_off=None if discount.percent_off is None else float(discount.percent_off),
        amount_off=discount.amount_off,
        currency=discount.currency,
        duration=discount.duration,
        starts_at=discount.starts_at,
        ends_at=discounts.ends_at(discount),
        periods_remaining=discounts.periods_remaining(discount),
    )


def scheduled_change_out(change: dict) -> ScheduledChangeOut:
    addon_refs = change.get("addons")
    return ScheduledChangeOut(
        id=change["id"],
        plan_code=change.get("plan_code"),
        quantity=change.get("quantity"),
        addons=None if addon_refs is None else [AddonRef(**ref) for ref in addon_refs],
        effective_at=change["effective_at"],
    )


def change_out(planned: changes.ChangePlan) -> ChangeOut:
    credit, charge, net = figures(planned.lines)
    return ChangeOut(
        subscription=subscription_out(planned.subscription),
        proration=ProrationOut(credit=credit, charge=charge, net=net, currency=planned.new_plan.currency),
        effective_at=planned.effective_at,
        new_period=planned.new_period,
        when=planned.when,
        lines=planned.lines,
        invoice_now=planned.invoice_now,
        invoice_now_discounts=planned.invoice_now_discounts,
        next_invoice=planned.next_invoice,
        credit_note_amount=planned.credit,
        renewal_lines=planned.renewal_lines,
        scheduled_change=scheduled_change_out(planned.scheduled) if planned.scheduled and "id" in planned.scheduled else None,
    )


# ---- plans ------------------------------------------------------------------------------------


@router.post("/plans", status_code=201, tags=["plans"], responses=problem_responses(404, 409))
async def create_plan(body: PlanIn, session: DbSession) -> PlanOut:
    return PlanOut.model_validate(await catalog.create_plan(session, data=body))


@router.get("/plans", tags=["plans"])
@customer_scoped  # the catalog is anyone's to read
async def list_plans(session: DbSession, include_archived: bool = False, page: Page = Depends(page_params)) -> ListOut[PlanOut]:
    plans, more = await repository.list_plans(session, page, include_archived=include_archived)
    return ListOut(data=[PlanOut.model_validate(p) for p in plans], has_more=more)


@router.get("/plans/{code}", tags=["plans"])
@customer_scoped
async def get_plan(code: str, session: DbSession) -> PlanOut:
    return PlanOut.model_validate(await repository.get_plan(session, code))


@router.post("/plans/{code}/archive", tags=["plans"], responses=problem_responses(409))
async def archive_plan(code: str, session: DbSession) -> PlanOut:
    return PlanOut.model_validate(await catalog.archive_plan(session, code=code))


# ---- customers --------------------------------------------------------------------------------


@router.post("/customers", status_code=201, tags=["customers"], responses=problem_responses(404))
async def create_customer(body: CustomerIn, session: DbSession) -> CustomerOut:
    return CustomerOut.model_validate(await customers.create_customer(session, data=body))


@router.get("/customers", tags=["customers"])
async def list_customers(session: DbSession, page: Page = Depends(page_params)) -> ListOut[CustomerOut]:
    rows, more = await repository.list_customers(session, page)
    return ListOut(data=[CustomerOut.model_validate(c) for c in rows], has_more=more)


@router.get("/customers/{customer_id}", tags=["customers"])
@customer_scoped
async def get_customer(customer_id: str, request: Request, session: DbSession) -> CustomerOut:
    ensure_customer_access(request, customer_id, CustomerNotFound(f"No customer {customer_id}."))
    return CustomerOut.model_validate(await repository.get_customer(session, customer_id))


@router.patch("/customers/{customer_id}", tags=["customers"])
@customer_scoped
async def update_customer(customer_id: str, body: CustomerPatch, request: Request, session: DbSession) -> CustomerOut:
    ensure_customer_access(request, customer_id, CustomerNotFound(f"No customer {customer_id}."))
    if caller_customer_id(request) is not None and body.model_fields_set - {"payment_method"}:
        raise Forbidden("A portal session can change the payment method only.")
    return CustomerOut.model_validate(await customers.update_customer(session, customer_id=customer_id, patch=body))


# ---- settings ---------------------------------------------------------------------------------


@router.get("/settings", tags=["settings"])
async def get_settings(session: DbSession) -> SettingsOut:
    return SettingsOut.model_validate(await repository.get_settings(session))


@router.patch("/settings", tags=["settings"], responses=problem_responses(404), dependencies=[Depends(require_admin)])
async def update_settings(body: SettingsPatch, session: DbSession) -> SettingsOut:
    return SettingsOut.model_validate(await account_settings.update_settings(session, patch=body))


# ---- subscriptions ----------------------------------------------------------------------------


@router.post("/subscriptions", status_code=201, tags=["subscriptions"], responses=problem_responses(404, 409))
async def create_subscription(body: SubscriptionIn, session: DbSession) -> SubscriptionOut:
    return subscription_out(await lifecycle.create_subscription(session, data=body))


@router.get("/subscriptions", tags=["subscriptions"])
@customer_scoped
async def list_subscriptions(
    request: Request,
    session: DbSession,
    customer_id: str | None = Query(None),
    status: SubscriptionStatusFilter = None,
    page: Page = Depends(page_params),
) -> ListOut[SubscriptionOut]:
    customer_id = scoped_customer_id(request, customer_id)
    rows, more = await repository.list_subscriptions(session, page, customer_id=customer_id, status=status)
    return ListOut(data=[subscription_out(s) for s in rows], has_more=more)


@router.get("/subscriptions/{subscription_id}", tags=["subscriptions"], dependencies=[OwnSubscription])
@customer_scoped
async def get_subscription(subscription_id: str, session: DbSession) -> SubscriptionOut:
    return subscription_out(await repository.get_subscription(session, subscription_id))


@router.get("/subscriptions/{subscription_id}/timeline", tags=["subscriptions"])
async def get_timeline(subscription_id: str, session: DbSession) -> ListOut[TimelineEntryOut]:
    await repository.get_subscription(session, subscription_id)
    entries = await repository.timeline(session, subscription_id)
    return ListOut(
        data=[TimelineEntryOut(type=e.event_type, occurred_at=e.occurred_at, data=e.data) for e in entries],
        has_more=False,
    )


@router.post(
    "/subscriptions/{subscription_id}/changes/preview",
    tags=["subscriptions"],
    responses=problem_responses(409),
    dependencies=[OwnSubscription],
)
@customer_scoped
async def preview_change(subscription_id: str, body: ChangeIn, session: DbSession) -> ChangeOut:
    """What the change would invoice now, credit, defer and renew; nothing changes."""
    return change_out(await changes.preview_change(session, subscription_id=subscription_id, change=body))


@router.post(
    "/subscriptions/{subscription_id}/changes",
    tags=["subscriptions"],
    responses=problem_responses(409),
    dependencies=[OwnSubscription],
)
@customer_scoped
async def change_subscription(subscription_id: str, body: ChangeIn, session: DbSession) -> ChangeOut:
    return change_out(await changes.change_subscription(session, subscription_id=subscription_id, change=body))


@router.post(
    "/subscriptions/{subscription_id}/scheduled-changes/{change_id}/cancel",
    tags=["subscriptions"],
    responses=problem_responses(409),
)
async def cancel_scheduled_change(subscription_id: str, change_id: str, session: DbSession) -> SubscriptionOut:
    return subscription_out(await changes.cancel_scheduled_change(session, subscription_id=subscription_id, change_id=change_id))


@router.post(
    "/subscriptions/{subscription_id}/cancel",
    tags=["subscriptions"],
    responses=problem_responses(409),
    dependencies=[OwnSubscription],
)
@customer_scoped
async def cancel_subscription(subscription_id: str, body: CancelIn, session: DbSession) -> SubscriptionOut:
    return subscription_out(await cancellation.cancel_subscription(session, subscription_id=subscription_id, data=body))


@router.post(
    "/subscriptions/{subscription_id}/reactivate",
    tags=["subscriptions"],
    responses=problem_responses(402, 409),
    dependencies=[OwnSubscription],
)
@customer_scoped
async def reactivate_subscription(
    subscription_id: str, request: Request, session: DbSession, body: ReactivateIn | None = None
) -> SubscriptionOut:
    internal = internal_client(request.app.state.settings)
    codes = body or ReactivateIn()
    return subscription_out(
        await reactivation.reactivate_subscription(
            session,
            subscription_id=subscription_id,
            internal=internal,
            coupon_code=codes.coupon_code,
            promotion_code=codes.promotion_code,
        )
    )


@router.post("/subscriptions/{subscription_id}/discounts", status_code=201, tags=["discounts"], responses=problem_responses(409))
async def apply_discount(subscription_id: str, body: DiscountIn, session: DbSession) -> SubscriptionOut:
    """Put a coupon on a running subscription: it covers the next period on (a trial: the first paid one)."""
    return subscription_out(
        await discounts.apply_discount(
            session, subscription_id=subscription_id, coupon_code=body.coupon_code, promotion_code=body.promotion_code
        )
    )


@router.get(
    "/subscriptions/{subscription_id}/retention-offer",
    tags=["discounts"],
    dependencies=[OwnSubscription],
    responses=problem_responses(404),
)
@customer_scoped
async def get_retention_offer(subscription_id: str, session: DbSession) -> RetentionOfferOut:
    """The coupon offered to keep a customer about to cancel (the account's `retention_coupon_code`),
    if this subscription can still take it; 404 `no_retention_offer` otherwise."""
    return retention_offer_out(await retention_offer.get_offer(session, subscription_id=subscription_id))


@router.post(
    "/subscriptions/{subscription_id}/retention-offer/accept",
    tags=["discounts"],
    dependencies=[OwnSubscription],
    responses=problem_responses(404, 409),
)
@customer_scoped
async def accept_retention_offer(subscription_id: str, session: DbSession) -> SubscriptionOut:
    """Take the retention offer: its coupon covers the subscription from the next period on."""
    return subscription_out(await retention_offer.accept_offer(session, subscription_id=subscription_id))


def retention_offer_out(coupon: Coupon) -> RetentionOfferOut:
    return RetentionOfferOut(coupon_code=coupon.code, **coupon_terms(coupon).model_dump())


@router.delete("/subscriptions/{subscription_id}/discounts/{discount_id}", tags=["discounts"], responses=problem_responses(409))
async def remove_discount(subscription_id: str, discount_id: str, session: DbSession) -> SubscriptionOut:
    return subscription_out(await discounts.remove_discount(session, subscription_id=subscription_id, discount_id=discount_id))


# ---- coupons and promotion codes ----------------------------------------------------------------


def coupon_terms(coupon: Coupon) -> CouponTerms:
    return CouponTerms(
        name=coupon.name,
        percent_off=None if coupon.percent_off is None else float(coupon.percent_off),
        amount_off=coupon.amount_off,
        currency=coupon.currency,
        duration=coupon.duration,
        duration_in_periods=coupon.duration_in_periods,
    )


async def coupon_out(session: AsyncSession, coupon: Coupon) -> CouponOut:
    return CouponOut(
        code=coupon.code,
        **coupon_terms(coupon).model_dump(),
        applies_to=coupon.applies_to,
        max_redemptions=coupon.max_redemptions,
        redeem_by=coupon.redeem_by,
        archived=coupon.archived,
        times_redeemed=await discounts.times_redeemed(session, coupon_code=coupon.code),
    )


async def promotion_code_out(session: AsyncSession, promotion: PromotionCode) -> PromotionCodeOut:
    return PromotionCodeOut(
        code=promotion.code,
        coupon_code=promotion.coupon_code,
        max_redemptions=promotion.max_redemptions,
        expires_at=promotion.expires_at,
        first_time_only=promotion.first_time_only,
        minimum_amount=promotion.minimum_amount,
        customer_id=promotion.customer_id,
        times_redeemed=await discounts.times_redeemed(session, promotion_code=promotion.code),
    )


@router.post("/coupons", status_code=201, tags=["discounts"], responses=problem_responses(409))
async def create_coupon(body: CouponIn, session: DbSession) -> CouponOut:
    return await coupon_out(session, await discounts.create_coupon(session, data=body))


@router.get("/coupons", tags=["discounts"])
async def list_coupons(session: DbSession, page: Page = Depends(page_params)) -> ListOut:
    rows, more = await discounts.list_coupons(session, page)
    return ListOut(data=[await coupon_out(session, c) for c in rows], has_more=more)


@router.get("/coupons/{code}", tags=["discounts"])
async def get_coupon(code: str, session: DbSession) -> CouponOut:
    return await coupon_out(session, await discounts.get_coupon(session, code))


@router.post("/coupons/{code}/archive", tags=["discounts"], responses=problem_responses(409))
async def archive_coupon(code: str, session: DbSession) -> CouponOut:
    return await coupon_out(session, await discounts.archive_coupon(session, code=code))


@router.post("/promotion-codes", status_code=201, tags=["discounts"], responses=problem_responses(404, 409))
async def create_promotion_code(body: PromotionCodeIn, session: DbSession) -> PromotionCodeOut:
    return await promotion_code_out(session, await discounts.create_promotion_code(session, data=body))


@router.get("/promotion-codes", tags=["discounts"])
async def list_promotion_codes(
    session: DbSession, page: Page = Depends(page_params), coupon_code: str | None = Query(None)
) -> ListOut:
    rows, more = await discounts.list_promotion_codes(session, page, coupon_code=coupon_code)
    return ListOut(data=[await promotion_code_out(session, p) for p in rows], has_more=more)


# ---- add-ons ----------------------------------------------------------------------------------


@router.post("/addons", status_code=201, tags=["add-ons"], responses=problem_responses(409))
async def create_addon(body: AddonIn, session: DbSession) -> AddonOut:
    return AddonOut.model_validate(await addons.create_addon(session, data=body))


@router.get("/addons", tags=["add-ons"])
@customer_scoped
async def list_addons(session: DbSession, include_archived: bool = False, page: Page = Depends(page_params)) -> ListOut[AddonOut]:
    rows, more = await repository.list_addons(session, page, include_archived=include_archived)
    return ListOut(data=[AddonOut.model_validate(a) for a in rows], has_more=more)


@router.get("/addons/{code}", tags=["add-ons"])
@customer_scoped
async def get_addon(code: str, session: DbSession) -> AddonOut:
    return AddonOut.model_validate(await repository.get_addon(session, code))


@router.post("/addons/{code}/archive", tags=["add-ons"], responses=problem_responses(409))
async def archive_addon(code: str, session: DbSession) -> AddonOut:
    return AddonOut.model_validate(await addons.archive_addon(session, code=code))


# ---- test clocks ------------------------------------------------------------------------------


async def clock_out(clock: TestClock, request: Request) -> TestClockOut:
    settled = clock.status == "ready" and await test_clocks.known_settled(internal_client(request.app.state.settings), clock.id)
    return TestClockOut(id=clock.id, name=clock.name, frozen_time=clock.frozen_time, status="ready" if settled else "advancing")


@router.post("/test-clocks", status_code=201, tags=["test clocks"])
async def create_test_clock(body: TestClockIn, request: Request, session: DbSession) -> TestClockOut:
    clock = await test_clocks.create_test_clock(
        session, frozen_time=body.frozen_time, name=body.name, internal=internal_client(request.app.state.settings)
    )
    return TestClockOut(id=clock.id, name=clock.name, frozen_time=clock.frozen_time, status="ready")


@router.get("/test-clocks/{clock_id}", tags=["test clocks"])
async def get_test_clock(clock_id: str, request: Request, session: DbSession) -> TestClockOut:
    return await clock_out(await repository.get_test_clock(session, clock_id), request)


@router.post("/test-clocks/{clock_id}/advance", tags=["test clocks"], responses=problem_responses(409))
async def advance_test_clock(clock_id: str, body: TestClockAdvance, session: DbSession) -> TestClockOut:
    clock = await test_clocks.start_advance(session, clock_id=clock_id, frozen_time=body.frozen_time)
    return TestClockOut(id=clock.id, name=clock.name, frozen_time=clock.frozen_time, status="advancing")


# ---- metrics ----------------------------------------------------------------------------------


@router.post("/metrics", status_code=201, tags=["metrics"], responses=problem_responses(409))
async def create_metric(body: MetricIn, session: DbSession) -> MetricOut:
    return MetricOut.model_validate(await metrics.create_metric(session, data=body))


@router.get("/metrics", tags=["metrics"])
async def list_metrics(session: DbSession, page: Page = Depends(page_params)) -> ListOut[MetricOut]:
    rows, more = await metrics.list_metrics(session, page)
    return ListOut(data=[MetricOut.model_validate(m) for m in rows], has_more=more)


@router.get("/metrics/{code}", tags=["metrics"])
async def get_metric(code: str, session: DbSession) -> MetricOut:
    return MetricOut.model_validate(await metrics.get_metric(session, code))


# ---- pause and resume -------------------------------------------------------------------------


def pause_reply(outcome: pausing.PauseOutcome) -> PauseReplyOut:
    figure = outcome.credit_preview
    return PauseReplyOut(
        **subscription_out(outcome.subscription).model_dump(),
        credit_preview=CreditPreviewOut(
            unused_days=figure.unused_days, period_days=figure.period_days, amount=figure.amount, currency=figure.currency
        )
        if figure
        else None,
    )


@router.post(
    "/subscriptions/{subscription_id}/pause",
    tags=["subscriptions"],
    responses=problem_responses(409, 503),
    dependencies=[OwnSubscription],
)
@customer_scoped
async def pause_subscription(subscription_id: str, body: PauseIn, request: Request, session: DbSession) -> PauseReplyOut:
    outcome = await pausing.pause_subscription(
        session,
        subscription_id=subscription_id,
        pause_at=body.pause_at,
        resume_at=body.resume_at,
        internal=internal_client(request.app.state.settings),
    )
    return pause_reply(outcome)


@router.post(
    "/subscriptions/{subscription_id}/resume",
    tags=["subscriptions"],
    responses=problem_responses(409, 503),
    dependencies=[OwnSubscription],
)
@customer_scoped
async def resume_subscription(subscription_id: str, body: ResumeIn, request: Request, session: DbSession) -> PauseReplyOut:
    outcome = await pausing.resume_subscription(
        session, subscription_id=subscription_id, resume_at=body.resume_at, internal=internal_client(request.app.state.settings)
    )
    return pause_reply(outcome)


internal_router = APIRouter(dependencies=[Depends(require_internal_token)])
internal_router.include_router(access_routes.internal_router)


@internal_router.post("/subscriptions/{subscription_id}/pause-window")
async def describe_pause(subscription_id: str, body: PauseWindowIn, session: DbSession) -> PauseWindowOut:
    """For credit-svc's credit preview: the period, price and span a pause would cover."""
    currency, window, resume_at = await pausing.describe_pause(
        session, subscription_id=subscription_id, pause_at=body.pause_at, resume_at=body.resume_at
    )
    return PauseWindowOut(currency=currency, window=window, resume_at=resume_at)


@internal_router.get("/subscriptions/{subscription_id}/owner")
async def describe_owner(subscription_id: str, session: DbSession) -> dict:
    """For another service's customer-scoped route (`ensure_subscription_access`): whose subscription this is."""
    owner = await session.scalar(select(Subscription.customer_id).where(Subscription.id == subscription_id))
    if owner is None:
        raise SubscriptionNotFound(f"No subscription {subscription_id}.")
    return {"customer_id": owner}


@internal_router.get("/customers/{customer_id}")
async def describe_customer(customer_id: str, session: DbSession) -> CustomerData:
    """For a service that has not yet seen this customer's events but must answer now."""
    return customers.customer_data(await repository.get_customer(session, customer_id))


@internal_router.get("/subscriptions/{subscription_id}/next-renewal")
async def describe_next_renewal(subscription_id: str, session: DbSession) -> NextRenewalOut:
    """For invoicing-svc's upcoming invoice: exactly what the next renewal would bill."""
    data, at, clock_id = await upcoming.next_renewal(session, subscription_id=subscription_id)
    return NextRenewalOut(subscription=data, at=at, clock_id=clock_id)
