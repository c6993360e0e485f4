"""Discount arithmetic: pure functions turning an invoice's charge lines into its discount lines.

A line belongs to the billing period that ends at its `period_end` (whole-period charges, and the
proration of a change or a cancellation, all end at their period's end); lines without a period
(one-time add-ons) and usage are never discounted. Per invoice and discount: fixed amounts first,
each at most what is left of its amount in that period and of the eligible sum; then percentages,
rounded half-up once on the eligible sum left. Nothing goes below zero: the discounts of an invoice
never exceed the invoice's own total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from tenure_shared.events import ChargeLine
from tenure_shared.money import round_half_up

DISCOUNTABLE_KINDS = ("subscription", "addon", "proration")


@dataclass(frozen=True)
class DiscountTerms:
    """A running discount as the calculator needs it.

    `used` maps each period it already covered (by period end) to the fixed amount taken there;
    `periods_limit` is None for `forever`, else how many periods it may cover in all.
    """

    id: str
    label: str
    starts_at: datetime
    percent_off: Decimal | None = None
    amount_off: int | None = None
    periods_limit: int | None = None
    plan_codes: frozenset[str] | None = None
    addon_codes: frozenset[str] | None = None
    used: Mapping[datetime, int] = field(default_factory=dict)

    @property
    def fixed(self) -> bool:
        return self.amount_off is not None

    def covers(self, period_end: datetime, newly_claimed: int = 0) -> bool:
        """Whether the period ending at `period_end` is one of this discount's periods (or can become one)."""
        if period_end in self.used:
            return True
        if period_end <= self.starts_at:
            return False
        return self.periods_limit is None or len(self.used) + newly_claimed < self.periods_limit

    def applies_to(self, line: ChargeLine) -> bool:
        if line.kind not in DISCOUNTABLE_KINDS or line.period_end is None:
            return False
        if self.plan_codes is None and self.addon_codes is None:
            return True
        wanted = (self.plan_codes or frozenset()) if line.item_kind == "subscription" else (self.addon_codes or frozenset())
        return line.item_code in wanted


@dataclass(frozen=True)
class DiscountUse:
    """What one discount took from one period on this invoice (0 still claims the period)."""

    discount_id: str
    period_end: datetime
    amount: int


@dataclass(frozen=True)
class Discounted:
    lines: list[ChargeLine]  # one negative `discount` line per discount that took something
    uses: list[DiscountUse]  # every period each discount covered on this invoice


def _take_from(remaining: list[int], indexes: Sequence[int], amount: int) -> None:
    """Lower the lines' remaining amounts by `amount`, positive lines first, in order."""
    for i in indexes:
        if amount <= 0:
            return
        taken = min(max(remaining[i], 0), amount)
        remaining[i] -= taken
        amount -= taken


def _attribute(amount: int, shares: Sequence[int]) -> list[int]:
    """`amount` (at most the shares' sum) over the periods, each taking at most its share, in order."""
    parts = []
    for share in shares:
        parts.append(min(share, amount))
        amount -= parts[-1]
    return parts


def discount_invoice(lines: Sequence[ChargeLine], discounts: Sequence[DiscountTerms]) -> Discounted:
    """The discount lines of an invoice of `lines`, and the periods each discount covered."""
    remaining = [line.amount for line in lines]
    room = max(0, sum(remaining))  # never below zero: the invoice's own total bounds every discount
    out_lines: list[ChargeLine] = []
    uses: list[DiscountUse] = []
    ordered = sorted(discounts, key=lambda d: not d.fixed)  # fixed amounts apply before percentages
    for discount in ordered:
        periods: dict[datetime, list[int]] = {}
        claimed = 0
        for period_end in sorted({end for line in lines if discount.applies_to(line) and (end := line.period_end)}):
            if discount.covers(period_end, claimed):
                claimed += period_end not in discount.used
                periods[period_end] = [
                    i for i, line in enumerate(lines) if discount.applies_to(line) and line.period_end == period_end
                ]
        if not periods:
            continue
        eligible = {p: max(0, sum(remaining[i] for i in idx)) for p, idx in periods.items()}
        if discount.amount_off is not None:
            taken = {}
            for p, idx in periods.items():
                taken[p] = min(eligible[p], max(0, discount.amount_off - discount.used.get(p, 0)), room)
                room -= taken[p]
                _take_from(remaining, idx, taken[p])
        else:
            assert discount.percent_off is not None  # a discount is a fixed amount or a percentage
            # One eligible sum for the invoice: a covered period's credits lower it too.
            base = max(0, sum(remaining[i] for idx in periods.values() for i in idx))
            total = min(round_half_up(Fraction(base) * Fraction(discount.percent_off) / 100), room)
            room -= total
            taken = dict(zip(periods, _attribute(total, list(eligible.values())), strict=True))
            for p, idx in periods.items():
                _take_from(remaining, idx, taken[p])
        uses.extend(DiscountUse(discount.id, p, amount) for p, amount in taken.items())
        if amount := sum(taken.values()):
            out_lines.append(ChargeLine(kind="discount", description=discount.label, unit_amount=-amount, amount=-amount))
    return Discounted(lines=out_lines, uses=uses)


def whole_period_cost(lines: Sequence[ChargeLine], discounts: Sequence[DiscountTerms]) -> int:
    """What one whole period of `lines` costs after the discounts that cover it, each fixed amount in
    full (as if the period were billed on one invoice, whatever earlier invoices of it took)."""
    period_ends = {line.period_end for line in lines if line.period_end is not None}
    fresh = [replace(d, used={**d.used, **{end: 0 for end in period_ends if end in d.used}}) for d in discounts]
    return sum(line.amount for line in lines) + sum(line.amount for line in discount_invoice(lines, fresh).lines)


def period_cost(lines: Sequence[ChargeLine], discounts: Sequence[DiscountTerms]) -> int:
    """What a whole period of `lines` cost after the discounts that covered it: the base of credits
    for its unused days (a discount that never covered the period does not lower its cost)."""
    period_ends = {line.period_end for line in lines if line.period_end is not None}
    return whole_period_cost(lines, [d for d in discounts if period_ends & set(d.used)])


def share_of_cost(amount: int, *, list_amount: int, cost: int) -> int:
    """A credit of `amount` at list price, on what the period cost instead: scaled by cost / list,
    exact and rounded half-up once (a period without a list price is returned as it is)."""
    if list_amount <= 0:
        return amount
    return round_half_up(Fraction(amount * cost, list_amount))
