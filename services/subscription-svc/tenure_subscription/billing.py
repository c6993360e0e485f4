"""What a subscription asks invoicing to bill: pure functions building charge lines."""

from __future__ import annotations

from datetime import datetime

from tenure_shared.events import ChargeLine

from tenure_subscription.proration import Proration


def period_lines(*, plan_name: str, plan_amount: int, quantity: int, start: datetime, end: datetime) -> list[ChargeLine]:
    """The plan's charge for one whole period, billed in advance."""
    return [
        ChargeLine(
            kind="subscription",
            description=f"{plan_name} × {quantity}" if quantity != 1 else plan_name,
            quantity=quantity,
            unit_amount=plan_amount,
            amount=plan_amount * quantity,
            period_start=start,
            period_end=end,
        )
    ]


def proration_lines(*, old_plan_name: str, new_plan_name: str, proration: Proration, start: datetime, end: datetime) -> list[ChargeLine]:
    """Credit for the unused old plan and charge for the new one, over [change day, period end)."""
    days = f"{proration.unused_days}/{proration.period_days} days"
    lines = []
    if proration.credit:
        lines.append(ChargeLine(kind="proration", description=f"Unused {old_plan_name} ({days})", unit_amount=-proration.credit, amount=-proration.credit, period_start=start, period_end=end))
    if proration.charge:
        lines.append(ChargeLine(kind="proration", description=f"{new_plan_name} ({days})", unit_amount=proration.charge, amount=proration.charge, period_start=start, period_end=end))
    return lines
