"""Quote arithmetic: the figures of a quote's first invoice, whether its discount needs an approval,
and what its discounts take from the period after it. Pure: the service gathers the lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction

from tenure_shared.events import ChargeLine
from tenure_subscription.discounts import DiscountTerms, DiscountUse, discount_invoice

DEFAULT_VALIDITY = timedelta(days=30)


@dataclass(frozen=True)
class QuoteFigures:
    subtotal: int  # every line but the discounts
    discount: int  # what the discount lines take off (>= 0)
    total: int  # the invoice's total: subtotal - discount


def figures(lines: Sequence[ChargeLine]) -> QuoteFigures:
    subtotal = sum(line.amount for line in lines if line.kind != "discount")
    discount = -sum(line.amount for line in lines if line.kind == "discount")
    return QuoteFigures(subtotal=subtotal, discount=discount, total=subtotal - discount)


def needs_approval(quote: QuoteFigures, percent_off_limit: int | None) -> bool:
    """Whether the discount is more than `percent_off_limit` % of the subtotal (None: no limit)."""
    if percent_off_limit is None or quote.discount <= 0:
        return False
    if quote.subtotal <= 0:
        return True
    return Fraction(quote.discount * 100, quote.subtotal) > percent_off_limit


def expiry(finalized_at: datetime, asked: datetime | None) -> datetime:
    return asked if asked is not None else finalized_at + DEFAULT_VALIDITY


def after_uses(terms: Sequence[DiscountTerms], uses: Sequence[DiscountUse]) -> list[DiscountTerms]:
    """The discounts as they stand once an invoice took `uses`: each covered period is counted (a fixed
    amount with what it took), so the following period sees what is left of each."""
    updated = []
    for term in terms:
        used = dict(term.used)
        for use in uses:
            if use.discount_id == term.id:
                used[use.period_end] = used.get(use.period_end, 0) + (use.amount if term.fixed else 0)
        updated.append(replace(term, used=used))
    return updated


def discounted_total(lines: Sequence[ChargeLine], terms: Sequence[DiscountTerms]) -> tuple[list[ChargeLine], list[DiscountUse]]:
    """`lines` with the discount lines `terms` give them, and the periods the discounts covered."""
    result = discount_invoice(lines, terms)
    return [*lines, *result.lines], result.uses
