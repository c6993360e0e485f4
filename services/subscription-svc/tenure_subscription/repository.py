"""All of subscription-svc's queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.pagination import Page, paginate
from tenure_subscription.errors import AddonNotFound, CustomerNotFound, PlanNotFound, SubscriptionNotFound, TestClockNotFound
from tenure_subscription.models import AccountSettings, Addon, Customer, Plan, Subscription, TestClock, TimelineEntry

DEFAULT_SETTINGS = dict(
    free_plan_code=None,
    trial_end_action="move_to_free_plan",
    proration="immediate",
    redeem_credits=True,
    reactivation_requires_payment=False,
    timezone="UTC",
)


async def get_plan(session: AsyncSession, code: str) -> Plan:
    plan = await session.get(Plan, code)
    if plan is None:
        raise PlanNotFound(f"No plan with code {code!r}.")
    return plan


async def list_plans(session: AsyncSession, page: Page, *, include_archived: bool) -> tuple[list[Plan], bool]:
    statement = select(Plan)
    if not include_archived:
        statement = statement.where(Plan.archived.is_(False))
    return await paginate(session, statement, Plan.code, page)


async def get_addon(session: AsyncSession, code: str) -> Addon:
    addon = await session.get(Addon, code)
    if addon is None:
        raise AddonNotFound(f"No add-on with code {code!r}.")
    return addon


async def list_addons(session: AsyncSession, page: Page, *, include_archived: bool) -> tuple[list[Addon], bool]:
    statement = select(Addon)
    if not include_archived:
        statement = statement.where(Addon.archived.is_(False))
    return await paginate(session, statement, Addon.code, page)


async def get_customer(session: AsyncSession, customer_id: str, *, for_update: bool = False) -> Customer:
    customer = await session.get(Customer, customer_id, with_for_update=for_update)
    if customer is None:
        raise CustomerNotFound(f"No customer {customer_id}.")
    return customer


async def list_customers(session: AsyncSession, page: Page) -> tuple[list[Customer], bool]:
    return await paginate(session, select(Customer), Customer.id, page)


async def get_subscription(session: AsyncSession, subscription_id: str, *, for_update: bool = False) -> Subscription:
    subscription = await session.get(Subscription, subscription_id, with_for_update=for_update)
    if subscription is None:
        raise SubscriptionNotFound(f"No subscription {subscription_id}.")
    return subscription


async def list_subscriptions(
    session: AsyncSession, page: Page, *, customer_id: str | None, status: str | None = None
) -> tuple[list[Subscription], bool]:
    filters = {Subscription.customer_id: customer_id, Subscription.status: status}
    return await paginate(session, select(Subscription), Subscription.id, page, filters=filters)


async def timeline(session: AsyncSession, subscription_id: str) -> list[TimelineEntry]:
    statement = (
        select(TimelineEntry)
        .where(TimelineEntry.subscription_id == subscription_id)
        .order_by(TimelineEntry.occurred_at, TimelineEntry.id)
    )
    return list((await session.scalars(statement)).all())


async def get_settings(session: AsyncSession, *, for_update: bool = False) -> AccountSettings:
    settings = await session.get(AccountSettings, 1, with_for_update=for_update)
    if settings is None:
        # Concurrent first requests may all find no row: only one insert wins, every one reads it.
        await session.execute(insert(AccountSettings).values(id=1, **DEFAULT_SETTINGS).on_conflict_do_nothing())
        settings = await session.get(AccountSettings, 1, with_for_update=for_update)
        assert settings is not None  # inserted just above, or by the concurrent request whose insert won
    return settings


async def get_test_clock(session: AsyncSession, clock_id: str, *, for_update: bool = False) -> TestClock:
    clock = await session.get(TestClock, clock_id, with_for_update=for_update)
    if clock is None:
        raise TestClockNotFound(f"No test clock {clock_id}.")
    return clock


async def advancing_clock_ids(session: AsyncSession) -> list[str]:
    return list((await session.scalars(select(TestClock.id).where(TestClock.status == "advancing"))).all())
