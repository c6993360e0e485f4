"""What a subscription's items cost over a period or part of one: pure functions building charge lines.

An item is the plan (kind `subscription`) or a recurring add-on (kind `addon`) with its quantity.
Part-period amounts follow the contract's day rule (`proration.prorate`): exact, rounded half-up once
per line, the day of a change counting toward the new state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tenure_shared.events import ChargeLine
from tenure_subscription.calendar import calendar_days
from tenure_subscription.proration import prorate

ItemKind = Literal["subscription", "addon"]


@dataclass(frozen=True)
class Item:
    """One priced thing a subscription renews every period."""

    kind: ItemKind
    code: str
    name: str
    unit_amount: int
    quantity: int

    @property
    def amount(self) -> int:
        return self.unit_amount * self.quantity

    @property
    def label(self) -> str:
        return f"{self.name} × {self.quantity}" if self.quantity != 1 else self.name


@dataclass(frozen=True)
class Settlement:
    """How a change's lines are settled: the lines invoiced and the credit owed on a credit note."""

    invoiced: list[ChargeLine]
    credit: int


def period_lines(items: Sequence[Item], *, start: datetime, end: datetime) -> list[ChargeLine]:
    """Every priced item for one whole period [start, end), billed in advance."""
    return [
        ChargeLine(
            kind=item.kind,
            description=item.label,
            quantity=item.quantity,
            unit_amount=item.unit_amount,
            amount=item.amount,
            period_start=start,
            period_end=end,
            item_kind=item.kind,
            item_code=item.code,
        )
        for item in items
        if item.amount
    ]


def one_time_lines(items: Sequence[Item]) -> list[ChargeLine]:
    """One-time add-ons, billed once at full price."""
    return [
        ChargeLine(kind="addon", description=item.label, quantity=item.quantity, unit_amount=item.unit_amount, amount=item.amount)
        for item in items
        if item.amount
    ]


def _part_line(description: str, amount: int, start: datetime, end: datetime, item: Item | None = None) -> ChargeLine:
    return ChargeLine(
        kind="proration",
        description=description,
        unit_amount=amount,
        amount=amount,
        period_start=start,
        period_end=end,
        item_kind=item.kind if item else None,
        item_code=item.code if item else None,
    )


def change_lines(
    old: Sequence[Item],
    new: Sequence[Item],
    *,
    period_start: datetime,
    period_end: datetime,
    change_at: datetime,
    tz: str = "UTC",
) -> list[ChargeLine]:
    """Items changed at change_at within [period_start, period_end): a credit for each changed old item's
    unused days and a charge for each changed new item over the same days (credits first)."""
    if not period_start <= change_at < period_end:
        raise ValueError("change_at must be within [period_start, period_end)")
    period_days = calendar_days(period_start, period_end, tz)
    unused = calendar_days(change_at, period_end, tz)
    days = f"{unused}/{period_days} days"
    before = {(i.kind, i.code): i for i in old}
    after = {(i.kind, i.code): i for i in new}
    credits, charges = [], []
    for key, item in before.items():
        if after.get(key) != item and (amount := prorate(item.amount, unused, period_days)):
            credits.append(_part_line(f"Unused {item.label} ({days})", -amount, change_at, period_end, item))
    for key, item in after.items():
        if before.get(key) != item and (amount := prorate(item.amount, unused, period_days)):
            charges.append(_part_line(f"{item.label} ({days})", amount, change_at, period_end, item))
    return credits + charges


def remaining_value(
    items: Sequence[Item],
    *,
    period_start: datetime,
    period_end: datetime,
    at: datetime,
    tz: str = "UTC",
    period_amount: int | None = None,
) -> int:
    """What the days [day of `at`, period end) of a period are worth: one exact amount, rounded once.
    `period_amount` is what the whole period cost when not its items' list price (after discounts)."""
    if not period_start <= at < period_end:
        return 0
    whole = sum(i.amount for i in items) if period_amount is None else period_amount
    return prorate(whole, calendar_days(at, period_end, tz), calendar_days(period_start, period_end, tz))


def remaining_line(
    items: Sequence[Item], *, period_start: datetime, period_end: datetime, at: datetime, tz: str = "UTC"
) -> ChargeLine | None:
    """The days [day of `at`, period end) of every item as one line: what a cancellation credited back."""
    amount = remaining_value(items, period_start=period_start, period_end=period_end, at=at, tz=tz)
    if not amount:
        return None
    days = f"{calendar_days(at, period_end, tz)}/{calendar_days(period_start, period_end, tz)} days"
    label = ", ".join(item.label for item in items if item.amount)
    return _part_line(f"{label} ({days})", amount, at, period_end)


def settle(lines: Sequence[ChargeLine]) -> Settlement:
    """A non-negative net is invoiced as it is; a negative net is never invoiced: its charges are
    invoiced and its credits go on a credit note. Either way invoiced - credit = net."""
    if sum(line.amount for line in lines) >= 0:
        return Settlement(invoiced=list(lines), credit=0)
    return Settlement(
        invoiced=[line for line in lines if line.amount > 0],
        credit=-sum(line.amount for line in lines if line.amount < 0),
    )


def figures(lines: Sequence[ChargeLine]) -> tuple[int, int, int]:
    """(credit, charge, net) of a set of lines: credit + net = charge."""
    credit = -sum(line.amount for line in lines if line.amount < 0)
    charge = sum(line.amount for line in lines if line.amount > 0)
    return credit, charge, charge - credit
