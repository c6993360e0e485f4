"""Add-ons: the catalog's extras, and the priced items (plan + recurring add-ons) of a subscription."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_subscription import repository
from tenure_subscription.charges import Item
from tenure_subscription.errors import (
    AddonAlreadyExists,
    AddonArchived,
    AddonIntervalMismatch,
    CurrencyMismatch,
    DuplicateAddon,
)
from tenure_subscription.models import Addon, Plan, Subscription
from tenure_subscription.schemas import AddonIn, AddonRef


async def create_addon(session: AsyncSession, *, data: AddonIn) -> Addon:
    """Add an add-on to the catalog: recurring with an interval, or one-time."""
    if await session.get(Addon, data.code) is not None:
        raise AddonAlreadyExists(f"An add-on with code {data.code!r} exists already.")
    addon = Addon(
        code=data.code,
        name=data.name,
        currency=data.currency,
        amount=data.amount,
        interval=None if data.one_time else data.interval,
        interval_count=data.interval_count,
        archived=False,
    )
    session.add(addon)
    await session.flush()
    return addon


async def archive_addon(session: AsyncSession, *, code: str) -> Addon:
    """Archived add-ons can no longer be added; subscriptions that have one keep it."""
    addon = await repository.get_addon(session, code)
    addon.archived = True
    await session.flush()
    return addon


def plan_item(plan: Plan, quantity: int) -> Item:
    return Item(kind="subscription", code=plan.code, name=plan.name, unit_amount=plan.amount, quantity=quantity)


def addon_item(addon: Addon, quantity: int) -> Item:
    return Item(kind="addon", code=addon.code, name=addon.name, unit_amount=addon.amount, quantity=quantity)


@dataclass(frozen=True)
class AddonSelection:
    """Add-ons asked for: the recurring ones kept on the subscription and the one-time ones bought now."""

    recurring: list[dict[str, Any]]
    recurring_items: list[Item]
    one_time_items: list[Item]


def _ref(ref: AddonRef | dict[str, Any]) -> tuple[str, int]:
    return (ref.code, ref.quantity) if isinstance(ref, AddonRef) else (ref["code"], ref["quantity"])


async def select_addons(
    session: AsyncSession,
    refs: Sequence[AddonRef | dict[str, Any]],
    *,
    plan: Plan,
    currency: str,
    current: Sequence[dict[str, Any]] = (),
) -> AddonSelection:
    """Check add-ons against the plan they go with; an archived one is refused unless already held."""
    held = {ref["code"] for ref in current}
    recurring, recurring_items, one_time_items = [], [], []
    seen: set[str] = set()
    for code, quantity in map(_ref, refs):
        if code in seen:
            raise DuplicateAddon(f"Add-on {code!r} is listed twice; give it once with its quantity.")
        seen.add(code)
        addon = await repository.get_addon(session, code)
        if addon.currency != currency:
            raise CurrencyMismatch(f"Add-on {code!r} is in {addon.currency}; the customer pays in {currency}.")
        if addon.archived and (addon.one_time or code not in held):
            raise AddonArchived(f"Add-on {code!r} is archived.")
        if addon.one_time:
            one_time_items.append(addon_item(addon, quantity))
            continue
        if (addon.interval, addon.interval_count) != (plan.interval, plan.interval_count):
            raise AddonIntervalMismatch(
                f"Add-on {code!r} renews every {addon.interval_count} {addon.interval}, plan {plan.code!r} every "
                f"{plan.interval_count} {plan.interval}; pass `addons` without it or with one of the plan's interval."
            )
        recurring.append({"code": code, "quantity": quantity})
        recurring_items.append(addon_item(addon, quantity))
    return AddonSelection(recurring, recurring_items, one_time_items)


async def addon_items(session: AsyncSession, refs: Sequence[dict[str, Any]]) -> list[Item]:
    """The priced items of add-on references (no checks: they were checked when chosen)."""
    return [addon_item(await repository.get_addon(session, ref["code"]), ref["quantity"]) for ref in refs]


async def subscription_items(session: AsyncSession, subscription: Subscription, plan: Plan) -> list[Item]:
    """What the subscription renews every period: its plan and its recurring add-ons."""
    return [plan_item(plan, subscription.quantity), *await addon_items(session, subscription.addons or [])]
