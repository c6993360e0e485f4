"""The retention report's figures from MRR histories: pure and exact (the contract's "Retention reporting" rules).

Money stays a Fraction of minor units until `rounded_report`, which rounds half-up once; ratios are
decimals rounded half-up to 4 places.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, NamedTuple

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

    def ends(self, start: datetime, end: datetime) -> SubscriptionEnds:
        at_start, at_end = self.mrr_at(start), self.mrr_at(end)
        return SubscriptionEnds(
            customer_id=self.customer_id,
            start_numerator=at_start.numerator,
            start_denominator=at_start.denominator,
            paused_at_start=self.paused_at(start),
            end_numerator=at_end.numerator,
            end_denominator=at_end.denominator,
            paused_at_end=self.paused_at(end),
            had_mrr_before=self.had_mrr_before(start),
        )

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


class SubscriptionEnds(NamedTuple):
    """One subscription at the window's two ends: its MRR at each (numerator, denominator: exact), paused or
    not there, and whether it had MRR before the window. The report's query sums and classifies the same per
    customer in SQL (reports._MOVEMENTS)."""

    customer_id: str
    start_numerator: int
    start_denominator: int
    paused_at_start: bool
    end_numerator: int
    end_denominator: int
    paused_at_end: bool
    had_mrr_before: bool


@dataclass(frozen=True)
class Renewals:
    """The renewal dates that fell in the window (`due`), those renewed, and their MRR."""

    due: int = 0
    renewed: int = 0
    value_due: Fraction = Fraction(0)
    value_renewed: Fraction = Fraction(0)


@dataclass
class RetentionFigures:
    mrr_start: Fraction
    mrr_end: Fraction
    movements: dict[str, Fraction]
    customers: dict[str, int]
    customers_with_start: int
    renewals: Renewals
    deal_count: int
    deal_total: int
    free_plan_moves: int


def classify(
    start_mrr: Fraction | int, end_mrr: Fraction | int, *, had_mrr_before: bool, paused_at_start: bool, paused_at_end: bool
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


def tally(
    subscriptions: Iterable[SubscriptionEnds], *, renewals: Renewals, deal_count: int, deal_total: int, free_plan_moves: int
) -> RetentionFigures:
    """Every figure of the window from its subscriptions' ends, exact: each customer's MRR is the sum over its
    subscriptions, classified once. MRR is summed as integers over one common denominator, as the report's
    query does it (Fraction arithmetic per customer was most of the time over 100,000 customers)."""
    subscriptions = list(subscriptions)
    scale = math.lcm(*{s.start_denominator for s in subscriptions}, *{s.end_denominator for s in subscriptions})
    # customer -> [start MRR × scale, end MRR × scale, had MRR before, paused at start, paused at end]
    by_customer: dict[str, list[Any]] = {}
    for s in subscriptions:
        start = s.start_numerator * (scale // s.start_denominator)
        end = s.end_numerator * (scale // s.end_denominator)
        customer = by_customer.get(s.customer_id)
        if customer is None:
            by_customer[s.customer_id] = [start, end, s.had_mrr_before, s.paused_at_start, s.paused_at_end]
        else:
            customer[0] += start
            customer[1] += end
            customer[2] = customer[2] or s.had_mrr_before
            customer[3] = customer[3] or s.paused_at_start
            customer[4] = customer[4] or s.paused_at_end
    mrr_start = mrr_end = with_start = 0
    movements, counts = dict.fromkeys(MOVEMENTS, 0), dict.fromkeys(MOVEMENTS, 0)
    for start, end, had_mrr_before, paused_at_start, paused_at_end in by_customer.values():
        mrr_start += start
        mrr_end += end
        with_start += start > 0
        movement = classify(
            start, end, had_mrr_before=had_mrr_before, paused_at_start=paused_at_start, paused_at_end=paused_at_end
        )
        if movement:
            movements[movement] += abs(end - start)
            counts[movement] += 1
    return RetentionFigures(
        mrr_start=Fraction(mrr_start, scale),
        mrr_end=Fraction(mrr_end, scale),
        movements={name: Fraction(amount, scale) for name, amount in movements.items()},
        customers=counts,
        customers_with_start=with_start,
        renewals=renewals,
        deal_count=deal_count,
        deal_total=deal_total,
        free_plan_moves=free_plan_moves,
    )


def figures(
    histories: Iterable[History], *, start: datetime, end: datetime, deals: Sequence[int], free_plan_moves: int
) -> RetentionFigures:
    """Every figure of the window [start, end) over these subscriptions' histories, exact: the reference the
    report's database queries must agree with."""
    histories = list(histories)
    due = renewed = 0
    value_due = value_renewed = Fraction(0)
    for history in histories:
        for date, value in history.renewals_due(start, end):
            was_renewed = date in history.renewed_at
            due, value_due = due + 1, value_due + value
            renewed, value_renewed = renewed + was_renewed, value_renewed + (value if was_renewed else 0)
    renewals = Renewals(due=due, renewed=renewed, value_due=value_due, value_renewed=value_renewed)
    return tally(
        (history.ends(start, end) for history in histories),
        renewals=renewals,
        deal_count=len(deals),
        deal_total=sum(deals),
        free_plan_moves=free_plan_moves,
    )


def ratio(numerator: Fraction | int, denominator: Fraction | int) -> Decimal | None:
    """A decimal rounded half-up to 4 places (None when the denominator is 0: no such figure)."""
    if not denominator:
        return None
    exact = Fraction(numerator) / Fraction(denominator)
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(RATIO, rounding=ROUND_HALF_UP)


def rounded_report(result: RetentionFigures, *, currency: str | None, start: datetime, end: datetime) -> dict[str, Any]:
    """The reply of GET /v1/reports/retention: money in minor units, rounded once, here."""
    movements, renewals = result.movements, result.renewals
    lost = movements["contraction"] + movements["churn"]
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
            "by_count": ratio(renewals.renewed, renewals.due),
            "by_value": ratio(renewals.value_renewed, renewals.value_due),
        },
        "average_deal_value": round_half_up(Fraction(result.deal_total, result.deal_count)) if result.deal_count else None,
        "free_plan_moves": result.free_plan_moves,
    }
