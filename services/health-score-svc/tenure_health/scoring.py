"""The health model as pure functions: a customer's facts and the model in force -> a score that explains itself.

Each factor maps facts to a score in [0, 100] and a sentence with the numbers, or to None when the
customer has no data for it; a missing factor's weight is spread over the others. The weighted mean
is rounded half-up once, to a whole point.

Scores are not money: they are floats (ints where the arithmetic stays whole), which a daily
recompute of 100,000 customers needs (exact Fractions cost more than the database work). Rounding
half-up gives a float a hair of slack (`_half_up`), so a tie that binary arithmetic lands just below
(72.5 as 72.49999999999999) rounds as the exact value would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from operator import attrgetter
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

FACTORS = ("payment", "adoption", "engagement", "support", "sentiment", "billing_friction")
Status = Literal["healthy", "at_risk", "critical"]
Stage = Literal["onboarding", "adoption", "renewal", "expansion", "churned"]
Severity = Literal["low", "normal", "high", "urgent"]
SurveyKind = Literal["nps", "csat"]


# ---- the model (GET/PUT /v1/health-model) ------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Weights(_Strict):
    """Relative weights, each > 0; they are normalised to sum to 1 over the factors with data."""

    payment: PositiveInt = 25
    adoption: PositiveInt = 20
    engagement: PositiveInt = 20
    support: PositiveInt = 15
    sentiment: PositiveInt = 10
    billing_friction: PositiveInt = 10


def _onboarding_weights() -> Weights:
    # Early on, whether the customer uses the product matters most; little history exists yet.
    return Weights(payment=20, adoption=30, engagement=30, support=10, sentiment=5, billing_friction=5)


class Bands(_Strict):
    """healthy >= healthy_min, at_risk in [at_risk_min, healthy_min), critical below at_risk_min."""

    healthy_min: int = 70
    at_risk_min: int = 40

    @model_validator(mode="after")
    def _partition(self) -> Bands:
        if not 0 < self.at_risk_min < self.healthy_min <= 100:
            raise ValueError("bands must satisfy 0 < at_risk_min < healthy_min <= 100")
        return self


class PaymentThresholds(_Strict):
    recent_days: PositiveInt = 30
    window_days: PositiveInt = 90
    points_per_recent_failure: int = Field(20, ge=0, le=100)
    points_per_older_failure: int = Field(5, ge=0, le=100)
    open_dunning_points: int = Field(30, ge=0, le=100)
    points_per_day_past_due: int = Field(2, ge=0, le=100)
    max_past_due_points: int = Field(40, ge=0, le=100)


class AdoptionThresholds(_Strict):
    window_days: PositiveInt = 30
    # Using this share of the plan's included units (percent) scores 100.
    target_utilisation_percent: PositiveInt = 50


class EngagementThresholds(_Strict):
    recency_full_days: int = Field(1, ge=0)
    recency_zero_days: PositiveInt = 30
    window_days: PositiveInt = 30
    active_days_target: PositiveInt = 20

    @model_validator(mode="after")
    def _ordered(self) -> EngagementThresholds:
        if self.recency_full_days >= self.recency_zero_days:
            raise ValueError("recency_full_days must be below recency_zero_days")
        return self


DEFAULT_SEVERITY_POINTS: dict[Severity, int] = {"low": 5, "normal": 10, "high": 20, "urgent": 30}


class SupportThresholds(_Strict):
    severity_points: dict[Severity, int] = Field(default_factory=lambda: dict(DEFAULT_SEVERITY_POINTS))
    window_days: PositiveInt = 30
    baseline_days: PositiveInt = 90
    points_per_ticket_over_baseline: int = Field(5, ge=0, le=100)
    close_target_days: int = Field(3, ge=0)
    points_per_slow_day: int = Field(2, ge=0, le=100)
    max_slow_points: int = Field(20, ge=0, le=100)

    @model_validator(mode="after")
    def _all_severities(self) -> SupportThresholds:
        if set(self.severity_points) != {"low", "normal", "high", "urgent"} or min(self.severity_points.values()) < 0:
            raise ValueError("severity_points needs low, normal, high and urgent, each >= 0")
        if self.baseline_days <= self.window_days:
            raise ValueError("baseline_days must exceed window_days")
        return self


class SentimentThresholds(_Strict):
    window_days: PositiveInt = 180
    # A change of d points since the previous answer moves the score by d / direction_divisor.
    direction_divisor: PositiveInt = 4


class FrictionThresholds(_Strict):
    window_days: PositiveInt = 90
    downgrade_points: int = Field(20, ge=0, le=100)
    pause_points: int = Field(20, ge=0, le=100)
    free_plan_move_points: int = Field(40, ge=0, le=100)
    cancellation_scheduled_points: int = Field(40, ge=0, le=100)


class Activation(_Strict):
    """First value: the first activity named `activity_name` (any activity when None), or
    `usage_units` of usage in total, whichever comes first."""

    activity_name: str | None = None
    usage_units: PositiveInt | None = None


class HealthModel(_Strict):
    weights: Weights = Field(default_factory=Weights)
    onboarding_weights: Weights = Field(default_factory=_onboarding_weights)
    onboarding_days: PositiveInt = 30
    bands: Bands = Field(default_factory=Bands)
    payment: PaymentThresholds = Field(default_factory=PaymentThresholds)
    adoption: AdoptionThresholds = Field(default_factory=AdoptionThresholds)
    engagement: EngagementThresholds = Field(default_factory=EngagementThresholds)
    support: SupportThresholds = Field(default_factory=SupportThresholds)
    sentiment: SentimentThresholds = Field(default_factory=SentimentThresholds)
    billing_friction: FrictionThresholds = Field(default_factory=FrictionThresholds)
    activation: Activation = Field(default_factory=Activation)
    renewal_days_yearly: PositiveInt = 30
    renewal_days_monthly: PositiveInt = 7
    expansion_usage_percent: PositiveInt = 80
    risk_drop_points: PositiveInt = 15
    risk_drop_days: PositiveInt = 7


# ---- the facts ---------------------------------------------------------------------------------
# Facts and factor results are named tuples, not frozen dataclasses: a daily recompute builds a few
# of each per customer, and a frozen dataclass's __init__ sets each field through object.__setattr__
# (Facts' 19 fields cost more than some factors' arithmetic).


class Ticket(NamedTuple):
    opened_at: datetime
    severity: Severity
    closed_at: datetime | None = None  # None: still open


class Survey(NamedTuple):
    kind: SurveyKind
    score: int
    answered_at: datetime


class Facts(NamedTuple):
    """What health-score-svc knows of one customer at `now` (business time)."""

    now: datetime
    has_billing: bool = False
    failed_payments: tuple[datetime, ...] = ()
    open_dunning_since: tuple[datetime, ...] = ()
    past_due_since: datetime | None = None
    usage_recent: float | None = None  # usage over the adoption window
    usage_baseline: float | None = None  # mean usage per window over the two windows before
    included_units: int | None = None
    active_users: int | None = None
    seats: int | None = None
    activity_days: tuple[date, ...] = ()  # distinct days with activity
    last_activity_at: datetime | None = None
    tickets: tuple[Ticket, ...] = ()
    surveys: tuple[Survey, ...] = ()
    has_subscription: bool = False
    downgrades: tuple[datetime, ...] = ()
    pauses: tuple[datetime, ...] = ()
    free_plan_moves: tuple[datetime, ...] = ()
    cancellation_scheduled: bool = False


class FactorScore(NamedTuple):
    name: str
    score: float
    detail: str


class FactorLine(NamedTuple):
    """A factor as the API shows it: score None when left out for want of data."""

    name: str
    score: float | None
    weight: float
    contribution: float
    detail: str


# Slots: a recompute makes one per customer, and a frozen dataclass sets each field through
# object.__setattr__, which costs half as much on a slot as in an instance dict.
@dataclass(frozen=True, slots=True)
class Health:
    score: int
    status: Status
    factors: list[FactorLine] = field(default_factory=list)
    profile: Literal["standard", "onboarding"] = "standard"

    def reasons(self, below: int = 70) -> list[str]:
        """The details of the factors scoring below `below`, weakest first (equal scores in FACTORS order)."""
        # Rounded to 9 places, two scores equal in exact arithmetic compare equal as floats too (100/3 and 50 - 50/3).
        scored = [(round(f.score, 9), f) for f in self.factors if f.score is not None]
        weak = sorted(((key, f) for key, f in scored if key < below), key=lambda pair: pair[0])
        return [f"{f.name}: {f.detail}" for _, f in weak]


def half_up(value: float) -> int:
    """`value` (>= 0) rounded half-up to a whole number, a float's tie included (see the module's docstring).
    The slack, 1e-12 of the value (at least 1e-9), is far above a score's float error (~1e-15 of it)
    and far below the distance of any value the factors produce from a tie."""
    slack = value * 1e-12
    return math.floor(value + 0.5 + (slack if slack > 1e-9 else 1e-9))


@lru_cache(maxsize=256)
def _days_before(moment: datetime, days: int) -> datetime:
    """The start of a window of `days` days ending at `moment`. Cached: a recompute asks for the same
    few window starts for every customer, and each costs a timedelta and a datetime otherwise."""
    return moment - timedelta(days=days)


@lru_cache(maxsize=256)
def _days_after(moment: datetime, days: int) -> datetime:
    """The end of a window of `days` days starting at `moment` (cached as `_days_before`)."""
    return moment + timedelta(days=days)


def _clamp(value: float) -> float:
    if value < 0:
        return 0
    return 100 if value > 100 else value


def _days(delta: timedelta) -> float:
    return delta.days + delta.seconds / 86400


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _fmt(value: float) -> str:
    """A number for a sentence: whole, or one decimal."""
    if value < 0:
        return "-" + _fmt(-value)
    rounded = half_up(value * 10)
    return str(rounded // 10) if rounded % 10 == 0 else f"{rounded / 10:.1f}"


# ---- the factors -------------------------------------------------------------------------------


def payment_factor(facts: Facts, t: PaymentThresholds) -> FactorScore | None:
    """Failed payments (recent ones weigh more), open dunning cases and days past due."""
    if not facts.has_billing:
        return None
    now = facts.now
    recent_from, window_from = _days_before(now, t.recent_days), _days_before(now, t.window_days)
    recent = older = 0
    for at in facts.failed_payments:
        if recent_from <= at <= now:
            recent += 1
        elif window_from <= at < recent_from:
            older += 1
    past_due = max(0, (facts.now - facts.past_due_since).days) if facts.past_due_since else 0
    points = (
        recent * t.points_per_recent_failure
        + older * t.points_per_older_failure
        + len(facts.open_dunning_since) * t.open_dunning_points
        + min(t.max_past_due_points, past_due * t.points_per_day_past_due)
    )
    parts = [f"{_plural(recent, 'failed payment')} in the last {t.recent_days} days"]
    if older:
        parts.append(f"{older} more in the last {t.window_days} days")
    if facts.open_dunning_since:
        cases = len(facts.open_dunning_since)
        named = "a dunning case" if cases == 1 else _plural(cases, "dunning case")
        parts.append(f"{named} open since {min(facts.open_dunning_since).date().isoformat()}")
    else:
        parts.append("no open dunning case")
    if past_due:
        parts.append(f"{_plural(past_due, 'day')} past due")
    return FactorScore("payment", _clamp(100 - points), "; ".join(parts) + ".")


def adoption_factor(facts: Facts, t: AdoptionThresholds) -> FactorScore | None:
    """The mean of what is known: usage against the customer's own baseline, against the plan's
    included units, and active users against seats."""
    parts: list[tuple[float, str]] = []
    usage = facts.usage_recent or 0
    if facts.usage_baseline:
        parts.append(
            (
                _clamp(100 * usage / facts.usage_baseline),
                f"usage {_fmt(usage)} in the last {t.window_days} days against a baseline of {_fmt(facts.usage_baseline)}",
            )
        )
    if facts.included_units:
        share = 100 * usage / facts.included_units
        parts.append(
            (
                _clamp(share * 100 / t.target_utilisation_percent),
                f"{_fmt(share)}% of the {facts.included_units} included units used",
            )
        )
    if facts.seats and facts.active_users is not None:
        parts.append(
            (
                _clamp(100 * facts.active_users / facts.seats),
                f"{_plural(facts.active_users, 'active user')} on {_plural(facts.seats, 'seat')}",
            )
        )
    if not parts:
        return None
    score = sum(p[0] for p in parts) / len(parts)
    return FactorScore("adoption", score, "; ".join(p[1] for p in parts).capitalize() + ".")


def engagement_factor(facts: Facts, t: EngagementThresholds) -> FactorScore | None:
    """Half recency of the last activity, half the number of active days in the window."""
    if facts.last_activity_at is None:
        return None
    since = max(0, _days(facts.now - facts.last_activity_at))
    if since <= t.recency_full_days:
        recency: float = 100
    else:
        recency = _clamp(100 * (t.recency_zero_days - since) / (t.recency_zero_days - t.recency_full_days))
    window_from, today = _days_before(facts.now, t.window_days).date(), facts.now.date()
    active = len([day for day in facts.activity_days if window_from < day <= today])
    frequency = _clamp(100 * active / t.active_days_target)
    detail = (
        f"Last activity {_fmt(since)} days ago; active on {_plural(active, 'day')} of the last {t.window_days} "
        f"(target {t.active_days_target})."
    )
    return FactorScore("engagement", (recency + frequency) / 2, detail)


def support_factor(facts: Facts, t: SupportThresholds) -> FactorScore | None:
    """Open tickets weighted by severity, volume above the customer's own baseline, slow closes."""
    now = facts.now
    baseline_from, window_from = _days_before(now, t.baseline_days), _days_before(now, t.window_days)
    known = recent = earlier = 0
    open_by_severity: dict[Severity, int] = {}
    close_days: list[float] = []  # of the tickets closed within the baseline
    for x in facts.tickets:
        still_open = x.closed_at is None or x.closed_at > now
        # Known: opened by now, and open (not closed by now) or opened within the baseline.
        if x.opened_at > now or not (still_open or x.opened_at >= baseline_from):
            continue
        known += 1
        if still_open:
            open_by_severity[x.severity] = open_by_severity.get(x.severity, 0) + 1
        if x.opened_at >= window_from:
            recent += 1
        elif x.opened_at >= baseline_from:
            earlier += 1
        if x.closed_at is not None and baseline_from <= x.closed_at <= now:
            close_days.append(_days(x.closed_at - x.opened_at))
    if not known:
        return None
    open_points = sum(t.severity_points[severity] * n for severity, n in open_by_severity.items())
    baseline = earlier * t.window_days / (t.baseline_days - t.window_days)
    over = max(0, recent - baseline)
    mean_close = sum(close_days) / len(close_days) if close_days else None
    slow: float = 0
    if mean_close is not None:
        slow = min(t.max_slow_points, max(0, (mean_close - t.close_target_days) * t.points_per_slow_day))
    points = open_points + over * t.points_per_ticket_over_baseline + slow
    opened = ", ".join(f"{n} {s}" for s, n in sorted(open_by_severity.items())) if open_by_severity else "none"
    detail = (
        f"{_plural(sum(open_by_severity.values()), 'open ticket')} ({opened}); {recent} opened in the last "
        f"{t.window_days} days against a baseline of {_fmt(baseline)}"
    )
    if mean_close is not None:
        detail += f"; closed in {_fmt(mean_close)} days on average (target {t.close_target_days})"
    return FactorScore("support", _clamp(100 - points), detail + ".")


def normalised_survey_score(survey: Survey) -> int:
    """NPS 0-10 and CSAT 1-5 on one 0-100 scale."""
    if survey.kind == "nps":
        return survey.score * 10
    return (survey.score - 1) * 25


_answered_at = attrgetter("answered_at")


def sentiment_factor(facts: Facts, t: SentimentThresholds) -> FactorScore | None:
    """The latest NPS/CSAT answer, moved by its direction since the answer before."""
    window_from = _days_before(facts.now, t.window_days)
    answers = sorted((s for s in facts.surveys if window_from <= s.answered_at <= facts.now), key=_answered_at)
    if not answers:
        return None
    latest = answers[-1]
    score: float = normalised_survey_score(latest)
    detail = f"Latest {latest.kind.upper()} {latest.score} on {latest.answered_at.date().isoformat()}"
    if len(answers) > 1:
        previous = answers[-2]
        change = score - normalised_survey_score(previous)
        score += change / t.direction_divisor
        direction = "up" if change > 0 else "down" if change < 0 else "unchanged"
        detail += f", {direction} from {previous.kind.upper()} {previous.score}"
    return FactorScore("sentiment", _clamp(score), detail + ".")


def billing_friction_factor(facts: Facts, t: FrictionThresholds) -> FactorScore | None:
    """Downgrades, pauses, free-plan moves in the window and a scheduled cancellation."""
    if not facts.has_subscription:
        return None
    now = facts.now
    window_from = _days_before(now, t.window_days)
    downgrades, pauses, moves = (
        _count_between(facts.downgrades, window_from, now),
        _count_between(facts.pauses, window_from, now),
        _count_between(facts.free_plan_moves, window_from, now),
    )
    points = (
        downgrades * t.downgrade_points
        + pauses * t.pause_points
        + moves * t.free_plan_move_points
        + (t.cancellation_scheduled_points if facts.cancellation_scheduled else 0)
    )
    detail = (
        f"{_plural(downgrades, 'downgrade')}, {_plural(pauses, 'pause')} and {_plural(moves, 'free-plan move')} "
        f"in the last {t.window_days} days; {'a' if facts.cancellation_scheduled else 'no'} cancellation scheduled."
    )
    return FactorScore("billing_friction", _clamp(100 - points), detail)


def _count_between(moments: tuple[datetime, ...], start: datetime, end: datetime) -> int:
    """How many of `moments` fall within [start, end]."""
    return len([at for at in moments if start <= at <= end]) if moments else 0


def _scores_in_order(facts: Facts, model: HealthModel) -> list[FactorScore | None]:
    """The factors' scores in FACTORS' order."""
    return [
        payment_factor(facts, model.payment),
        adoption_factor(facts, model.adoption),
        engagement_factor(facts, model.engagement),
        support_factor(facts, model.support),
        sentiment_factor(facts, model.sentiment),
        billing_friction_factor(facts, model.billing_friction),
    ]


# ---- combining -----------------------------------------------------------------------------------


def normalised_weights(weights: Weights, present: list[str]) -> dict[str, float]:
    """The weights of the factors with data, scaled to sum to 1."""
    total = sum(getattr(weights, name) for name in present)
    return {name: getattr(weights, name) / total for name in present}


def status_for(score: int, bands: Bands) -> Status:
    if score >= bands.healthy_min:
        return "healthy"
    return "at_risk" if score >= bands.at_risk_min else "critical"


def combine(
    scores: dict[str, FactorScore | None],
    weights: Weights,
    bands: Bands,
    *,
    profile: Literal["standard", "onboarding"] = "standard",
) -> Health:
    """The weighted mean over the factors with data, rounded once; no data at all scores 100
    (nothing is known against the customer)."""
    return _combine_in_order([scores.get(name) for name in FACTORS], weights, bands, profile)


_weights_in_order = attrgetter(*FACTORS)  # a Weights' weights, as a tuple in FACTORS' order


def _combine_in_order(
    found: list[FactorScore | None], weights: Weights, bands: Bands, profile: Literal["standard", "onboarding"]
) -> Health:
    """`combine` of the factors' scores in FACTORS' order."""
    relative: tuple[int, ...] = _weights_in_order(weights)
    total, shares = _spread(relative, tuple([score is not None for score in found]))
    weighted: float = 0
    lines = []
    for name, weight, share, score in zip(FACTORS, relative, shares, found, strict=True):
        if score is None:
            lines.append(_no_data(name, weight))
        else:
            # One division per figure (weight x score / total), not a product of two rounded ones.
            weighted += weight * score.score
            lines.append(FactorLine(name, score.score, share, weight * score.score / total, score.detail))
    score_ = half_up(weighted / total) if total else 100
    return Health(score=score_, status=status_for(score_, bands), factors=lines, profile=profile)


@lru_cache(maxsize=256)
def _spread(relative: tuple[int, ...], present: tuple[bool, ...]) -> tuple[int, tuple[float, ...]]:
    """The total weight of the factors present and each one's share of it (0 for a factor left out).
    Cached: customers with data for the same factors (at most 64 sets) share them."""
    total = sum(weight for weight, found in zip(relative, present, strict=True) if found)
    return total, tuple(weight / total if found else 0 for weight, found in zip(relative, present, strict=True))


_NO_DATA: dict[tuple[str, int], FactorLine] = {}


def _no_data(name: str, weight: int) -> FactorLine:
    """The line of a factor without data (the same for every customer: made once)."""
    line = _NO_DATA.get((name, weight))
    if line is None:
        line = _NO_DATA[(name, weight)] = FactorLine(
            name, None, 0, 0, f"No data; its weight ({weight}) is spread over the other factors."
        )
    return line


def in_onboarding_window(started_at: datetime | None, now: datetime, model: HealthModel) -> bool:
    return started_at is not None and started_at > _days_before(now, model.onboarding_days)


def compute_health(facts: Facts, model: HealthModel, *, started_at: datetime | None) -> Health:
    """The customer's health: the onboarding profile's weights during the first `onboarding_days`."""
    if in_onboarding_window(started_at, facts.now, model):
        return _combine_in_order(_scores_in_order(facts, model), model.onboarding_weights, model.bands, "onboarding")
    return _combine_in_order(_scores_in_order(facts, model), model.weights, model.bands, "standard")


# ---- lifecycle stage and early warning ----------------------------------------------------------


class StageFacts(NamedTuple):
    now: datetime
    churned: bool = False
    first_value_at: datetime | None = None
    renews_at: datetime | None = None
    yearly_term: bool = False
    usage_recent: float | None = None
    included_units: int | None = None
    seats_grew_at: datetime | None = None
    upgraded_at: datetime | None = None


def expansion_reasons(facts: StageFacts, model: HealthModel) -> list[str]:
    """Why the customer looks ready to expand, if it does (recent = within the adoption window)."""
    reasons = []
    if facts.included_units and facts.usage_recent is not None:
        share = 100 * facts.usage_recent / facts.included_units
        if round(share, 9) >= model.expansion_usage_percent:  # 5.6 of 7 units is 80%, not 79.99999999999999
            reasons.append(f"usage at {_fmt(share)}% of the {facts.included_units} included units")
    recent_from = _days_before(facts.now, model.adoption.window_days)
    if facts.seats_grew_at and facts.seats_grew_at >= recent_from:
        reasons.append(f"seats grew on {facts.seats_grew_at.date().isoformat()}")
    if facts.upgraded_at and facts.upgraded_at >= recent_from:
        reasons.append(f"upgraded on {facts.upgraded_at.date().isoformat()}")
    return reasons


def lifecycle_stage(facts: StageFacts, model: HealthModel) -> Stage:
    """churned > onboarding (no first value yet) > renewal (close to the renewal date) > expansion > adoption."""
    if facts.churned:
        return "churned"
    if facts.first_value_at is None:
        return "onboarding"
    if facts.renews_at is not None:
        days = model.renewal_days_yearly if facts.yearly_term else model.renewal_days_monthly
        if facts.now <= facts.renews_at <= _days_after(facts.now, days):
            return "renewal"
    if expansion_reasons(facts, model):
        return "expansion"
    return "adoption"


def score_drop(current: int, recent_scores: list[int]) -> int:
    """How far the score fell from its highest point in the recent window (0 if it did not fall)."""
    return max([0] + [s - current for s in recent_scores])


def risk_raised(*, status: Status, drop: int, model: HealthModel) -> bool:
    """At risk now: in a band below healthy, or fallen by `risk_drop_points` within the window."""
    return status != "healthy" or drop >= model.risk_drop_points
