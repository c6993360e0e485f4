"""The backtest on a generated population whose churners follow known signal patterns."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from tenure_health.backtest import Outcome, auc, summarise
from tenure_health.scoring import Bands, Facts, HealthModel, Survey, Ticket, Weights, compute_health

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def generated_facts(rng: random.Random, churns: bool) -> Facts:
    """Churners fail payments, open tickets and answer surveys low more often; every customer's
    activity is drawn independently of churn (the unrelated signal)."""

    def ago(days: float) -> datetime:
        return NOW - timedelta(days=days)

    failed = tuple(ago(rng.uniform(0, 30)) for _ in range(rng.choice([0, 1, 2, 3] if churns else [0, 0, 0, 1])))
    tickets = tuple(
        Ticket(ago(rng.uniform(0, 20)), rng.choice(["high", "urgent"]))
        for _ in range(rng.choice([0, 1, 2] if churns else [0, 0, 1]))
    )
    nps = rng.randint(0, 7) if churns else rng.randint(4, 10)
    last_active = rng.uniform(0, 25)
    return Facts(
        now=NOW,
        has_billing=True,
        failed_payments=failed,
        open_dunning_since=(ago(5),) if failed and rng.random() < 0.5 else (),
        tickets=tickets,
        surveys=(Survey("nps", nps, ago(rng.uniform(0, 60))),),
        last_activity_at=ago(last_active),
        activity_days=tuple((NOW - timedelta(days=d)).date() for d in range(int(last_active), 30, rng.randint(1, 4))),
        has_subscription=True,
    )


def population(model: HealthModel, size: int = 600) -> list[Outcome]:
    rng = random.Random(11)
    found = []
    for n in range(size):
        churns = rng.random() < 0.3
        health = compute_health(generated_facts(random.Random(n), churns), model, started_at=NOW - timedelta(days=365))
        found.append(Outcome(f"cus_{n}", health.score, churns))
    return found


def test_the_default_model_predicts_churn_and_an_unrelated_factor_does_not():
    default = auc(population(HealthModel()))
    assert default > Fraction(3, 4)
    only_engagement = Weights(payment=1, adoption=1, engagement=10000, support=1, sentiment=1, billing_friction=1)
    unrelated = auc(population(HealthModel(weights=only_engagement)))
    assert Fraction(2, 5) < unrelated < Fraction(3, 5)


def test_summary_per_band_and_auc_edges():
    outcomes = [
        Outcome("a", 90, False),
        Outcome("b", 80, False),
        Outcome("c", 50, True),
        Outcome("d", 30, True),
        Outcome("e", 80, True),
    ]
    summary = summarise(outcomes, Bands())
    assert summary["by_band"]["healthy"] == {
        "customers": 3,
        "churned": 1,
        "churn_rate": summary["by_band"]["healthy"]["churn_rate"],
    }
    assert str(summary["by_band"]["healthy"]["churn_rate"]) == "0.3333"
    # churners 50, 30, 80 against renewers 90, 80: 2 + 2 + (1 + 1/2) wins of 6.
    assert auc(outcomes) == Fraction(11, 12) and str(summary["auc"]) == "0.9167"
    assert auc([Outcome("a", 10, True)]) is None
