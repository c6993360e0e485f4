"""The health model as pure functions: factor details, the combination, bands, stages and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tenure_health.scoring import (
    FACTORS,
    Bands,
    FactorScore,
    Facts,
    HealthModel,
    StageFacts,
    Survey,
    Ticket,
    Weights,
    adoption_factor,
    billing_friction_factor,
    combine,
    compute_health,
    engagement_factor,
    lifecycle_stage,
    normalised_weights,
    payment_factor,
    sentiment_factor,
    status_for,
    support_factor,
)

NOW = datetime(2026, 4, 3, tzinfo=UTC)
MODEL = HealthModel()


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def test_payment_detail_names_the_numbers():
    facts = Facts(
        now=NOW,
        has_billing=True,
        failed_payments=(days_ago(2), days_ago(1)),
        open_dunning_since=(datetime(2026, 4, 1, tzinfo=UTC),),
        past_due_since=datetime(2026, 4, 1, tzinfo=UTC),
    )
    found = payment_factor(facts, MODEL.payment)
    assert found.detail == "2 failed payments in the last 30 days; a dunning case open since 2026-04-01; 2 days past due."
    assert found.score == 100 - 2 * 20 - 30 - 2 * 2


def test_a_factor_without_data_is_left_out_and_says_so():
    facts = Facts(now=NOW, has_billing=True, has_subscription=True)
    health = combine(
        {
            "payment": payment_factor(facts, MODEL.payment),
            "billing_friction": billing_friction_factor(facts, MODEL.billing_friction),
        },
        MODEL.weights,
        MODEL.bands,
    )
    lines = {line.name: line for line in health.factors}
    assert lines["support"].score is None and lines["support"].weight == 0
    assert "spread over the other factors" in lines["support"].detail
    assert lines["payment"].weight == pytest.approx(25 / 35) and lines["billing_friction"].weight == pytest.approx(10 / 35)
    assert health.score == 100 and health.status == "healthy"


def test_support_weighs_open_tickets_by_severity_and_volume_over_baseline():
    tickets = (Ticket(days_ago(5), "urgent"), Ticket(days_ago(5), "urgent"))
    found = support_factor(Facts(now=NOW, tickets=tickets), MODEL.support)
    assert found.score == 100 - 60 - 10
    assert found.detail == "2 open tickets (2 urgent); 2 opened in the last 30 days against a baseline of 0."
    closed = tuple(Ticket(t.opened_at, t.severity, closed_at=days_ago(0)) for t in tickets)
    found = support_factor(Facts(now=NOW, tickets=closed), MODEL.support)
    # No open ticket; 2 above a baseline of 0; closed in 5 days against a target of 3: 2 x 2 points.
    assert found.score == 100 - 10 - 4
    assert "closed in 5 days on average (target 3)" in found.detail


def test_sentiment_follows_the_latest_answer_and_its_direction():
    low = Survey("nps", 2, days_ago(4))
    assert sentiment_factor(Facts(now=NOW, surveys=(low,)), MODEL.sentiment).score == 20
    up = sentiment_factor(Facts(now=NOW, surveys=(low, Survey("nps", 9, days_ago(1)))), MODEL.sentiment)
    assert up.score == 100  # 90 + (90 - 20) / 4, capped
    assert up.detail == f"Latest NPS 9 on {days_ago(1).date().isoformat()}, up from NPS 2."
    csat = sentiment_factor(Facts(now=NOW, surveys=(Survey("csat", 5, days_ago(1)),)), MODEL.sentiment)
    assert csat.score == 100


def test_engagement_recency_and_frequency():
    days = tuple(date(2026, 3, d) for d in range(4, 29))
    last = datetime(2026, 3, 28, tzinfo=UTC)
    found = engagement_factor(Facts(now=NOW, activity_days=days, last_activity_at=last), MODEL.engagement)
    # 6 days since the last login: recency 100 x (30 - 6) / 29; 24 active days (03-05..03-28) >= the target of 20.
    assert found.score == pytest.approx((2400 / 29 + 100) / 2)
    assert found.detail == "Last activity 6 days ago; active on 24 days of the last 30 (target 20)."
    assert engagement_factor(Facts(now=NOW), MODEL.engagement) is None


def test_onboarding_profile_applies_in_the_first_30_days():
    facts = Facts(now=NOW, has_billing=True, failed_payments=(days_ago(1),))
    early = compute_health(facts, MODEL, started_at=days_ago(10))
    later = compute_health(facts, MODEL, started_at=days_ago(40))
    assert early.profile == "onboarding" and later.profile == "standard"


@pytest.mark.parametrize(
    ("score", "status"), [(100, "healthy"), (70, "healthy"), (69, "at_risk"), (40, "at_risk"), (39, "critical"), (0, "critical")]
)
def test_default_bands(score, status):
    assert status_for(score, Bands()) == status


def test_model_validation_refuses_bad_weights_and_bands():
    with pytest.raises(ValidationError):
        HealthModel.model_validate({"weights": {"payment": 0}})
    with pytest.raises(ValidationError):
        HealthModel.model_validate({"bands": {"healthy_min": 40, "at_risk_min": 70}})
    with pytest.raises(ValidationError):
        HealthModel.model_validate({"engagement": {"recency_full_days": 30, "recency_zero_days": 5}})


def test_lifecycle_stages():
    base = StageFacts(now=NOW, first_value_at=days_ago(20), renews_at=NOW + timedelta(days=20))
    assert lifecycle_stage(StageFacts(now=NOW), MODEL) == "onboarding"
    assert lifecycle_stage(base, MODEL) == "adoption"
    soon = StageFacts(now=NOW, first_value_at=days_ago(20), renews_at=NOW + timedelta(days=6))
    assert lifecycle_stage(soon, MODEL) == "renewal"
    yearly = StageFacts(now=NOW, first_value_at=days_ago(20), renews_at=NOW + timedelta(days=25), yearly_term=True)
    assert lifecycle_stage(yearly, MODEL) == "renewal"
    busy = StageFacts(now=NOW, first_value_at=days_ago(20), usage_recent=80.0, included_units=100)
    assert lifecycle_stage(busy, MODEL) == "expansion"
    assert lifecycle_stage(StageFacts(now=NOW, churned=True), MODEL) == "churned"


# ---- properties -------------------------------------------------------------------------------

weights_strategy = st.builds(Weights, **{name: st.integers(1, 1000) for name in FACTORS})
scores_strategy = st.fractions(min_value=0, max_value=100, max_denominator=1000)


@given(weights_strategy, st.sets(st.sampled_from(FACTORS), min_size=1))
def test_weights_normalise_to_one(weights, present):
    assert sum(normalised_weights(weights, sorted(present)).values()) == pytest.approx(1)


@given(st.integers(0, 100), st.integers(1, 99), st.integers(2, 100))
def test_bands_partition_0_to_100(score, at_risk_min, healthy_min):
    if not at_risk_min < healthy_min:
        return
    bands = Bands(healthy_min=healthy_min, at_risk_min=at_risk_min)
    status = status_for(score, bands)
    # Exactly one band holds each score, and the bands are ordered.
    assert status == ("healthy" if score >= healthy_min else "at_risk" if score >= at_risk_min else "critical")


@given(weights_strategy, st.dictionaries(st.sampled_from(FACTORS), scores_strategy, min_size=2), st.data())
def test_a_missing_factor_never_lowers_a_score(weights, scores, data):
    """Leaving a factor out never scores below keeping it with a score no higher than the others' mean."""
    full = {name: FactorScore(name, s, "") for name, s in scores.items()}
    left_out = data.draw(st.sampled_from(sorted(scores)))
    without = combine({n: f for n, f in full.items() if n != left_out}, weights, Bands())
    others = [n for n in full if n != left_out]
    mean = sum(normalised_weights(weights, others)[n] * full[n].score for n in others)
    if full[left_out].score <= mean:
        assert without.score >= combine(full, weights, Bands()).score


@given(st.integers(0, 6), st.integers(0, 6), st.integers(0, 3), st.integers(0, 40))
def test_payment_is_monotone(recent, older, cases, days_past_due):
    def score(r, o, c, d):
        facts = Facts(
            now=NOW,
            has_billing=True,
            failed_payments=tuple(days_ago(1) for _ in range(r)) + tuple(days_ago(60) for _ in range(o)),
            open_dunning_since=tuple(days_ago(1) for _ in range(c)),
            past_due_since=days_ago(d) if d else None,
        )
        return payment_factor(facts, MODEL.payment).score

    base = score(recent, older, cases, days_past_due)
    assert score(recent + 1, older, cases, days_past_due) <= base
    assert score(recent, older + 1, cases, days_past_due) <= base
    assert score(recent, older, cases + 1, days_past_due) <= base
    assert score(recent, older, cases, days_past_due + 1) <= base


@given(st.lists(st.tuples(st.integers(0, 120), st.sampled_from(["low", "normal", "high", "urgent"])), max_size=8))
def test_support_is_monotone_in_open_tickets(tickets):
    known = tuple(Ticket(days_ago(age), severity) for age, severity in tickets)
    before = support_factor(Facts(now=NOW, tickets=known), MODEL.support)
    after = support_factor(Facts(now=NOW, tickets=known + (Ticket(days_ago(1), "normal"),)), MODEL.support)
    assert before is None or after.score <= before.score


@given(st.integers(0, 10), st.integers(0, 10), st.integers(0, 9))
def test_sentiment_is_monotone(previous, latest, bump):
    def score(p, latest_score):
        surveys = (Survey("nps", p, days_ago(10)), Survey("nps", latest_score, days_ago(1)))
        return sentiment_factor(Facts(now=NOW, surveys=surveys), MODEL.sentiment).score

    assert score(previous, min(10, latest + bump)) >= score(previous, latest)
    assert score(min(10, previous + bump), latest) <= score(previous, latest)


@given(st.integers(1, 29), st.integers(0, 30), st.integers(0, 10))
def test_engagement_is_monotone(days_since, active_days, more):
    def score(since, active):
        days = tuple(NOW.date() - timedelta(days=i) for i in range(active))
        return engagement_factor(Facts(now=NOW, activity_days=days, last_activity_at=days_ago(since)), MODEL.engagement).score

    assert score(days_since, min(30, active_days + more)) >= score(days_since, active_days)
    assert score(max(0, days_since - more), active_days) >= score(days_since, active_days)


@given(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.booleans())
def test_billing_friction_is_monotone(downgrades, pauses, moves, cancelling):
    def score(d, p, m, c):
        facts = Facts(
            now=NOW,
            has_subscription=True,
            downgrades=(days_ago(5),) * d,
            pauses=(days_ago(5),) * p,
            free_plan_moves=(days_ago(5),) * m,
            cancellation_scheduled=c,
        )
        return billing_friction_factor(facts, MODEL.billing_friction).score

    base = score(downgrades, pauses, moves, cancelling)
    assert score(downgrades + 1, pauses, moves, cancelling) <= base
    assert score(downgrades, pauses + 1, moves, cancelling) <= base
    assert score(downgrades, pauses, moves + 1, cancelling) <= base
    assert score(downgrades, pauses, moves, True) <= base


@given(st.integers(0, 2000), st.integers(0, 500), st.integers(0, 20), st.integers(1, 20), st.integers(1, 300))
def test_adoption_is_monotone(usage, more, users, seats, baseline):
    def score(u, active):
        facts = Facts(
            now=NOW,
            usage_recent=float(u),
            usage_baseline=float(baseline),
            included_units=1000,
            active_users=active,
            seats=seats,
        )
        return adoption_factor(facts, MODEL.adoption).score

    assert score(usage + more, users) >= score(usage, users)
    assert score(usage, users + 1) >= score(usage, users)


@given(weights_strategy, st.dictionaries(st.sampled_from(FACTORS), scores_strategy))
def test_combine_weighs_each_factor_by_its_normalised_weight(weights, scores):
    """The shares combine caches per set of factors with data are the normalised weights (0 without data)."""
    found = {name: FactorScore(name, float(s), "") for name, s in scores.items()}
    shares = normalised_weights(weights, [name for name in FACTORS if name in found]) if found else {}
    for _ in range(2):  # computed, then cached
        health = combine(found, weights, Bands())
        assert [line.weight for line in health.factors] == [shares.get(name, 0) for name in FACTORS]
