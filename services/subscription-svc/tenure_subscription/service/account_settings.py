"""The account's billing settings."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.errors import InvalidRequest
from tenure_subscription import repository
from tenure_subscription.models import AccountSettings
from tenure_subscription.schemas import SettingsPatch
from tenure_subscription.service import discounts


def check_timezone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequest(f"{name!r} is not an IANA timezone.", code="invalid_timezone") from exc


async def update_settings(session: AsyncSession, *, patch: SettingsPatch) -> AccountSettings:
    """Change settings; the free plan must exist and cost nothing."""
    settings = await repository.get_settings(session, for_update=True)
    changes = patch.model_dump(exclude_unset=True)
    if changes.get("free_plan_code"):
        plan = await repository.get_plan(session, changes["free_plan_code"])
        if plan.amount != 0:
            raise InvalidRequest(f"Plan {plan.code!r} is not free (amount {plan.amount}).", code="plan_not_free")
    if changes.get("retention_coupon_code"):
        await discounts.get_coupon(session, changes["retention_coupon_code"])  # 404 coupon_not_found
    if changes.get("timezone"):
        check_timezone(changes["timezone"])
    for field, value in changes.items():
        setattr(settings, field, value)
    await session.flush()
    return settings
