"""The retention report's figures from MRR histories: pure and exact (the contract's "Retention reporting" rules).

Money stays a Fraction of minor units until `rounded_report`, which rounds half-up once; ratios are
decimals rounded half-up to 4 places.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from tenure_shared.money import round_half_up

MOVEMENTS = ("new", "reactivation", "resumed", "expansion", "contraction", "churn", "paused")
DEAL_REASONS = ("subscription_create", "subscription_cycle")
RATIO = Decimal("0.0001")


@dataclass(frozen=True)
class State:
    """A subscription from `at` on (until its next state): its MRR, whether paused, its period end."""

    at: datetime
    mrr: Fraction
    paused: bool
    period_end: datetime | None = None


@dataclass
class History:
    """One subscription's states in business-time order."""

    subscription_id: str
    customer_id: str
    states: list[State] = field(default_factory=list)
    # The instants a renewal was issued and its invoice not voided.
    renewed_at: set[datetime] = field(default_factory=set)

    def at(self, instant: datetime) -> State | None:
        """The state in force at `instant` (the last one at or before it)."""
        index = bisect.bisect_right(self.states, instant, key=_at)
        return self.states[index - 1] if index else None

    def before(self, instant: datetime) -> State | None:
        index = bisect.bisect_left(self.states, instant, key=_at)
        return self.states[index - 1] if index else None

    def mrr_at(self, instant: datetime) -> Fraction:
        state = self.at(instant)
        return state.mrr if state else Fraction(0)

    def paused_at(self, instant: datetime) -> bool:
        state = self.at(instant)
        return bool(state and state.paused)

    def had_mrr_before(self, instant: datetime) -> bool:
        return any(s.mrr > 0 for s in self.states if s.at < instant)

    def renewals_due(self, start: datetime, end: datetime) -> list[tuple[datetime, Fraction]]:
        """(date, MRR) of each renewal date in [start, end): a period end with MRR in force just before it
        (a paused, trialing, free or cancelled subscription has none)."""
        dates = sorted({s.period_end for s in self.states if s.period_end and start <= s.period_end < end})
        due = []
        for date in dates:
            state = self.before(date)
            if state and state.period_end == date and state.mrr > 0:
                due.append((date, state.mrr))
        return due


def _at(state: State) -> datetime:
    return state.at


@dataclass
class RetentionFigures:
    mrr_start: Fraction
    mrr_end: Fraction
    movements: dict[str, Fraction]
    customers: dict[str, int]
    customers_with_start: int
    renewals_due: int
    renewals_renewed: int
    renewal_value_due: Fraction
    renewal_value_renewed: Fraction
    deals: list[int]
    free_plan_moves: int


def classify(
    start_mrr: Fraction, end_mrr: Fraction, *, had_mrr_before: bool, paused_at_start: bool, paused_at_end: bool
) -> str | None:
    """The movement of one customer between the window's ends (None: no movement)."""
    if start_mrr == 0 and end_mrr > 0:
        if paused_at_start:
            return "resumed"
        return "reactivation" if had_mrr_before else "new"
    if start_mrr > 0 and end_mrr == 0:
        return "paused" if paused_at_end else "churn"
    if start_mrr > 0 and end_mrr > start_mrr:
        return "expansion"
    if start_mrr > 0 and 0 < end_mrr < start_mrr:
        return "contraction"
    return None


def figures(
    histories: Iterable[History], *, start: datetime, end: datetime, deals: Sequence[int], free_plan_moves: int
) -> RetentionFigures:
    """Every figure of the window [start, end) over these subscriptions, exact."""
    by_customer: dict[str, list[History]] = defaultdict(list)
    for history in histories:
        by_customer[history.customer_id].append(history)
    result = RetentionFigures(
        mrr_start=Fraction(0),
        mrr_end=Fraction(0),
        movements=dict.fromkeys(MOVEMENTS, Fraction(0)),
        customers=dict.fromkeys(MOVEMENTS, 0),
        customers_with_start=0,
        renewals_due=0,
        renewals_renewed=0,
        renewal_value_due=Fraction(0),
        renewal_value_renewed=Fraction(0),
        deals=list(deals),
        free_plan_moves=free_plan_moves,
    )
    for subscriptions in by_customer.values():
        start_mrr = sum((h.mrr_at(start) for h in subscriptions), Fraction(0))
        end_mrr = sum((h.mrr_at(end) for h in subscriptions), Fraction(0))
        result.mrr_start += start_mrr
        result.mrr_end += end_mrr
        result.customers_with_start += start_mrr > 0
        movement = classify(
            start_mrr,
            end_mrr,
            had_mrr_before=any(h.had_mrr_before(start) for h in subscriptions),
            paused_at_start=any(h.paused_at(start) for h in subscriptions),
            paused_at_end=any(h.paused_at(end) for h in subscriptions),
        )
        if movement:
            result.movements[movement] += abs(end_mrr - start_mrr)
            result.customers[movement] += 1
        for history in subscriptions:
            for date, value in history.renewals_due(start, end):
                renewed = date in history.renewed_at
                result.renewals_due += 1
                result.renewals_renewed += renewed
                result.renewal_value_due += value
                result.renewal_value_renewed += value if renewed else 0
    return result


def ratio(numerator: Fraction | int, denominator: Fraction | int) -> Decimal | None:
    """A decimal rounded half-up to 4 places (None when the denominator is 0: no such figure)."""
    if not denominator:
        return None
    exact = Fraction(numerator) / Fraction(denominator)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(RATIO, rounding=ROUND_HALF_UP)


def rounded_report(result: RetentionFigures, *, currency: str | None, start: datetime, end: datetime) -> dict[str, Any]:
    """The reply of GET /v1/reports/retention: money in minor units, rounded once, here."""
    movements = result.movements
    lost = movements["contraction"] + movements["churn"]
    deal_total = sum(result.deals)
    return {
        "currency": currency,
        "from": start,
        "to": end,
        "mrr_start": round_half_up(result.mrr_start),
        "mrr_end": round_half_up(result.mrr_end),
        "movements": {name: round_half_up(amount) for name, amount in movements.items()},
        "customers": dict(result.customers),
        "grr": ratio(result.mrr_start - lost, result.mrr_start),
        "nrr": ratio(result.mrr_start + movements["expansion"] - lost, result.mrr_start),
        "logo_churn": ratio(result.customers["churn"], result.customers_with_start),
        "renewal_rate": {
            "by_count": ratio(result.renewals_renewed, result.renewals_due),
            "by_value": ratio(result.renewal_value_renewed, result.renewal_value_due),
        },
        "average_deal_value": round_half_up(Fraction(deal_total, len(result.deals))) if result.deals else None,
        "free_plan_moves": result.free_plan_moves,
    }
