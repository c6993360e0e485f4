"""How well a score predicted renewals and churn: churn rate per band and the AUC (pure)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from tenure_health.scoring import Bands, status_for


@dataclass(frozen=True)
class Outcome:
    """The score `horizon_days` before the renewal or churn, and whether the customer churned."""

    customer_id: str
    score: int
    churned: bool


def ratio(value: Fraction) -> Decimal:
    """A ratio as a decimal rounded half-up to 4 places (as the retention report's)."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def auc(outcomes: list[Outcome]) -> Fraction | None:
    """The chance that a churner scored lower than a customer who renewed (ties count half);
    None without both kinds. 0.5 is a coin toss, 1 a perfect warning."""
    churners = [o.score for o in outcomes if o.churned]
    renewers = [o.score for o in outcomes if not o.churned]
    if not churners or not renewers:
        return None
    renewers.sort()
    # Per churner: renewers scoring higher count 1, equal ones 1/2 (the Mann-Whitney U statistic).
    wins = sum(
        (
            Fraction(2 * (len(renewers) - bisect_right(renewers, c)) + (bisect_right(renewers, c) - bisect_left(renewers, c)), 2)
            for c in churners
        ),
        Fraction(0),
    )
    return wins / (len(churners) * len(renewers))


def summarise(outcomes: list[Outcome], bands: Bands) -> dict[str, Any]:
    """The backtest's JSON body: counts, churn rate per band and the AUC."""
    by_band: dict[str, dict[str, int | Decimal | None]] = {}
    for band in ("healthy", "at_risk", "critical"):
        members = [o for o in outcomes if status_for(o.score, bands) == band]
        churned = sum(1 for o in members if o.churned)
        by_band[band] = {
            "customers": len(members),
            "churned": churned,
            "churn_rate": ratio(Fraction(churned, len(members))) if members else None,
        }
    found = auc(outcomes)
    return {
        "customers": len(outcomes),
        "churned": sum(1 for o in outcomes if o.churned),
        "by_band": by_band,
        "auc": None if found is None else ratio(found),
    }
