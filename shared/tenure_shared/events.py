"""The CloudEvents 1.0 envelope, the topics, and the models of the events services publish.

Events carry the state consumers need, so a consumer never calls back the producer. Every event
is keyed by customer id (its `subject`), so one customer's events stay in order on a topic.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SUBSCRIPTIONS = "tenure.subscriptions"  # customer.* and subscription.* (one topic keeps them ordered)
INVOICES = "tenure.invoices"
PAYMENTS = "tenure.payments"
DUNNING = "tenure.dunning"
CREDITS = "tenure.credits"
USAGE = "tenure.usage"
HEALTH = "tenure.health"
QUOTES = "tenure.quotes"  # quote.* (subscription-svc), keyed by customer id like every topic
TOPICS = (SUBSCRIPTIONS, INVOICES, PAYMENTS, DUNNING, CREDITS, USAGE, HEALTH, QUOTES)
TOPIC_PARTITIONS = 4


# Every `subscription.<verb>` subscription-svc publishes (its `announce` refuses any other verb).
SUBSCRIPTION_VERBS = (
    "created",
    "trial_ended",
    "activated",
    "renewed",
    "change_scheduled",
    "scheduled_change_cancelled",
    "changed",
    "pause_scheduled",
    "pause_cancelled",
    "paused",
    "resume_scheduled",
    "resumed",
    "cancellation_scheduled",
    "cancelled",
    "reactivated",
    "moved_to_free_plan",
    "marked_unpaid",
    "expired",
    "discount_applied",
    "discount_ended",
    "renewal_upcoming",
    "trial_will_end",
)
SUBSCRIPTION_EVENT_TYPES = tuple(f"subscription.{verb}" for verb in SUBSCRIPTION_VERBS)

# Every `quote.<verb>` subscription-svc publishes on QUOTES, each with a QuoteData snapshot.
QUOTE_VERBS = ("created", "finalized", "approved", "accepted", "declined", "cancelled", "expired")
QUOTE_EVENT_TYPES = tuple(f"quote.{verb}" for verb in QUOTE_VERBS)

# Every `customer.<verb>` health-score-svc publishes on HEALTH, each with a CustomerHealthData.
HEALTH_VERBS = ("health_changed", "churn_risk_raised", "expansion_signal", "stage_changed")
HEALTH_EVENT_TYPES = tuple(f"customer.{verb}" for verb in HEALTH_VERBS)


DEAD_LETTER_SUFFIX = ".dlq"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}{DEAD_LETTER_SUFFIX}"


ALL_TOPICS = TOPICS + tuple(dead_letter_topic(t) for t in TOPICS)


class CloudEvent(BaseModel):
    """CloudEvents 1.0 JSON envelope. `tenureclock` is an extension attribute: the test clock."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str
    type: str
    source: str
    subject: str
    time: datetime
    datacontenttype: str = "application/json"
    tenureclock: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


# ---- payloads ---------------------------------------------------------------------------------


class CustomerData(BaseModel):
    """customer.created / customer.updated: what other services need of a customer."""

    id: str
    email: str
    name: str
    currency: str
    payment_method: str | None = None
    test_clock_id: str | None = None
    # Bumped on every change: replicas keep the highest, whatever order events and fetches arrive in.
    version: int = 0


class ChargeLine(BaseModel):
    """A line a subscription event asks invoicing to bill (amounts in minor units)."""

    kind: Literal["subscription", "addon", "proration", "usage", "one_time", "discount"]
    description: str
    quantity: int = 1
    unit_amount: int
    amount: int
    period_start: datetime | None = None
    period_end: datetime | None = None
    # The priced item a subscription, add-on or proration line is for (a discount's `applies_to`).
    item_kind: Literal["subscription", "addon"] | None = None
    item_code: str | None = None


class PauseWindow(BaseModel):
    """A pause of a paid period: credit-svc turns it into a credit with its pure `pause_credit`."""

    period_amount: int
    period_start: datetime
    period_end: datetime
    pause_at: datetime
    resume_at: datetime
    timezone: str = "UTC"


class CreditRequest(BaseModel):
    """A credit the customer is owed because of this event; credit-svc issues it once per `key`.

    Either `amount` is known (a downgrade's proration, a cancellation's unused amount), or `pause`
    describes the paused window and credit-svc computes the amount.
    """

    key: str
    reason: Literal["pause_unused_period", "downgrade_proration", "cancellation_unused_period", "manual"]
    currency: str
    description: str
    amount: int | None = None
    pause: PauseWindow | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    # True: pay the amount back through the gateway at once instead of keeping a credit balance.
    refund: bool = False


Aggregation = Literal["sum", "max", "count", "unique_count"]


class MetricData(BaseModel):
    """metric.created: a billable metric of the catalog and how its usage events are aggregated."""

    code: str
    name: str
    aggregation: Aggregation
    # The event property aggregated (sum/max: its number, unique_count: its distinct values);
    # None for sum/max means the event's own `value`.
    property: str | None = None


class MeteredTierData(BaseModel):
    """One price tier up to an inclusive cumulative unit bound (None = no upper bound)."""

    up_to: int | None = None
    unit_amount: int
    flat_amount: int = 0


class MeteredChargeData(BaseModel):
    """A plan's price for one metric, with the metric's aggregation, so usage is priced without calling back."""

    metric_code: str
    metric_name: str | None = None
    aggregation: Aggregation = "sum"
    property: str | None = None
    model: Literal["per_unit", "tiered", "volume", "package"] = "per_unit"
    unit_amount: int = 0
    included_units: int = 0
    package_size: int = 1
    tiers: list[MeteredTierData] = Field(default_factory=list)


class DiscountData(BaseModel):
    """A discount running on a subscription (subscription.discount_applied / discount_ended, and snapshots)."""

    id: str
    coupon_code: str
    promotion_code: str | None = None
    percent_off: str | None = None  # a decimal string, e.g. "20" or "12.5"
    amount_off: int | None = None
    currency: str | None = None
    duration: Literal["once", "repeating", "forever"]
    duration_in_periods: int | None = None
    starts_at: datetime
    ends_at: datetime | None = None


class NextRenewalData(BaseModel):
    """What the next renewal renews when scheduled changes are pending (for renewal forecasts)."""

    plan_code: str
    recurring_amount: int  # plan × quantity + recurring add-ons per period, before discounts
    recurring_amount_after_discounts: int  # the same less the discounts that will cover that period
    interval: Literal["day", "week", "month", "year"]
    interval_count: int


class CancellationDetailsData(BaseModel):
    """Why the customer cancelled, as they said it (subscription-svc's CancelIn.cancellation_details)."""

    feedback: str | None = None
    comment: str | None = None


class SubscriptionData(BaseModel):
    """subscription.*: a snapshot of the subscription, plus what to bill now, if anything."""

    id: str
    customer_id: str
    status: str
    plan_code: str
    plan_amount: int
    currency: str
    quantity: int
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    on_free_plan: bool = False
    last_paid_plan_code: str | None = None
    payment_method: str | None = None
    # Non-empty when this event must be invoiced now; invoicing bills it once per event id.
    bill_lines: list[ChargeLine] = Field(default_factory=list)
    billing_reason: str | None = None
    # For subscription.moved_to_free_plan / cancelled: why (e.g. dunning_exhausted).
    reason: str | None = None
    # Credits this event owes the customer (issued by credit-svc), and whether open credits are
    # applied to the invoice this event asks for (settings.redeem_credits).
    credit_requests: list[CreditRequest] = Field(default_factory=list)
    redeem_credits: bool = True
    # The plan's metered charges (usage is billed in arrears at the prices in force when it happened).
    metered_charges: list[MeteredChargeData] = Field(default_factory=list)
    # The running discounts (for reporting: MRR after discounts).
    discounts: list[DiscountData] = Field(default_factory=list)
    # For reporting (MRR): what the subscription renews every period before discounts (plan ×
    # quantity + recurring add-ons), and the plan's billing interval.
    recurring_amount: int | None = None
    # The current period's recurring amount less the running discounts that cover it (fixed amounts
    # in full), by subscription-svc's discount rule: what MRR counts, so no consumer re-implements it.
    recurring_amount_after_discounts: int
    plan_interval: Literal["day", "week", "month", "year"] | None = None
    plan_interval_count: int | None = None
    # Set only while scheduled changes are pending: the next renewal with them in force.
    next_renewal: NextRenewalData | None = None
    # `renewal_upcoming`: what the renewal will bill (minor units of `currency`).
    expected_amount: int | None = None
    # Set from a cancellation with a reason until a reactivation clears it.
    cancellation_details: CancellationDetailsData | None = None


class QuoteData(BaseModel):
    """quote.*: a snapshot of the quote after the change the event names."""

    id: str
    number: str | None = None  # Q-000001…, set when finalized
    status: Literal["draft", "open", "accepted", "declined", "expired", "cancelled"]
    subscription_id: str
    customer_id: str
    when: Literal["end_of_term", "now"]
    currency: str
    total: int  # the first invoice after acceptance
    recurring_total: int  # each following period, after discounts
    current_recurring_amount: int  # what the subscription renews at today, for upsell/downgrade forecasts
    effective_at: datetime | None = None
    expires_at: datetime | None = None


class InvoiceData(BaseModel):
    """invoice.created / paid / voided."""

    id: str
    number: str
    customer_id: str
    subscription_id: str | None
    status: str
    currency: str
    total: int
    amount_due: int
    amount_paid: int
    void_reason: str | None = None
    # The subscription event this invoice bills (a voided invoice gives its discount periods back).
    source_event_id: str | None = None


class PaymentData(BaseModel):
    """payment.succeeded / payment.failed."""

    id: str
    invoice_id: str
    subscription_id: str | None
    customer_id: str
    amount: int
    currency: str
    status: Literal["succeeded", "failed"]
    failure_code: str | None = None
    attempted_at: datetime
    # Who asked for the attempt: invoice finalisation, a dunning retry, or a person via the API.
    initiated_by: Literal["invoice", "dunning", "api"]


class DunningData(BaseModel):
    """dunning.started / retry_scheduled / recovered / exhausted."""

    id: str
    invoice_id: str
    subscription_id: str | None
    customer_id: str
    status: Literal["retrying", "recovered", "exhausted"]
    final_action: Literal["move_to_free_plan", "cancel", "mark_unpaid"]
    next_retry_at: datetime | None = None
    attempt_count: int = 0
    # The policy's notify_customer when the case opened: whether the customer is emailed about it.
    notify_customer: bool = True
    # What the failed collection asked for.
    amount_due: int | None = None
    currency: str | None = None


class CreditApplicationData(BaseModel):
    """One application of a credit note to an invoice (or its reversal when the invoice is voided)."""

    invoice_id: str
    # The subscription the invoice bills, if any (its timeline records the application).
    subscription_id: str | None = None
    amount: int
    applied_at: datetime


class CreditNoteData(BaseModel):
    """credit_note.issued / applied / restored / voided: a snapshot of the note after the change."""

    id: str
    number: str
    customer_id: str
    subscription_id: str | None
    reason: str
    currency: str
    amount: int
    remaining: int
    status: str
    period_start: datetime | None = None
    period_end: datetime | None = None
    issued_at: datetime
    # For credit_note.applied / restored: the application concerned.
    application: CreditApplicationData | None = None


class RefundData(BaseModel):
    """refund.issued / refund.failed: money paid back from a credit note through the gateway."""

    id: str
    credit_note_id: str
    customer_id: str
    subscription_id: str | None
    amount: int
    currency: str
    status: Literal["succeeded", "failed"]
    failure_code: str | None = None
    refunded_at: datetime
    # What is left on the note after the refund (a failed one gives its amount back).
    credit_note_remaining: int | None = None


class UsageMetricTotal(BaseModel):
    """Accepted usage of one metric within a usage.recorded event."""

    metric_code: str
    events: int
    # Sum of the events' `value`s as an exact decimal string ("0" when the events carry none).
    value_total: str


class UsageRecordedData(BaseModel):
    """usage.recorded (topic tenure.usage): a customer's accepted usage events, aggregated over a
    short window rather than one message per event."""

    customer_id: str
    metrics: list[UsageMetricTotal]
    first_timestamp: datetime
    last_timestamp: datetime


class HealthFactorData(BaseModel):
    name: str
    score: int | None
    detail: str


class CustomerHealthData(BaseModel):
    """customer.health_changed / churn_risk_raised / expansion_signal / stage_changed (topic tenure.health)."""

    customer_id: str
    score: int
    status: Literal["healthy", "at_risk", "critical"]
    previous_status: str | None = None
    lifecycle_stage: Literal["onboarding", "adoption", "renewal", "expansion", "churned"]
    previous_stage: str | None = None
    # Why, in sentences with the numbers (the weakest factors' details, or the expansion signals).
    reasons: list[str] = Field(default_factory=list)
    # For churn_risk_raised: how far the score fell within the model's risk_drop_days.
    score_drop: int = 0
    factors: list[HealthFactorData] = Field(default_factory=list)
    computed_at: datetime


# Every event type Tenure publishes, with its payload model: the one place the event schema lives.
# `add_event` refuses a type missing here, or a payload of another model.
EVENT_PAYLOADS: dict[str, type[BaseModel]] = {
    "customer.created": CustomerData,
    "customer.updated": CustomerData,
    **dict.fromkeys(SUBSCRIPTION_EVENT_TYPES, SubscriptionData),
    **dict.fromkeys(QUOTE_EVENT_TYPES, QuoteData),
    "metric.created": MetricData,
    **{f"invoice.{verb}": InvoiceData for verb in ("created", "paid", "voided")},
    **{f"payment.{verb}": PaymentData for verb in ("succeeded", "failed")},
    **{f"dunning.{verb}": DunningData for verb in ("started", "retry_scheduled", "recovered", "exhausted", "cancelled")},
    **{f"credit_note.{verb}": CreditNoteData for verb in ("issued", "applied", "restored", "voided")},
    **{f"refund.{verb}": RefundData for verb in ("issued", "failed")},
    "usage.recorded": UsageRecordedData,
    **dict.fromkeys(HEALTH_EVENT_TYPES, CustomerHealthData),
}

# The public, versioned schema (Kafka and webhooks): every type above but the internal instructions,
# each payload without the fields that only tell another service what to do.
# Bumped when a payload changes incompatibly; added fields keep the version.
SCHEMA_VERSION = "2026-12-01"
INTERNAL_EVENT_TYPES = frozenset({"metric.created"})
INTERNAL_FIELDS: dict[type[BaseModel], frozenset[str]] = {
    SubscriptionData: frozenset({"bill_lines", "credit_requests", "redeem_credits"}),
}
PUBLIC_EVENT_PAYLOADS: dict[str, type[BaseModel]] = {
    event_type: model for event_type, model in EVENT_PAYLOADS.items() if event_type not in INTERNAL_EVENT_TYPES
}


class DeadLetterData(BaseModel):
    """A `<topic>.dlq` copy of an event a consumer gave up on; it keeps the event's own type."""

    event: dict[str, Any]
    error: str
    consumer: str


UNREADABLE_EVENT_TYPE = "tenure.unreadable"


class UnreadableRecordData(BaseModel):
    """tenure.unreadable on `<topic>.dlq`: a record that was no event, as text."""

    raw: str | None
    error: str
    consumer: str


class UnregisteredEvent(TypeError):
    """A bug in a producer: an event type missing from EVENT_PAYLOADS, or a payload of another model."""


def check_payload(topic: str, event_type: str, data: BaseModel) -> None:
    if topic.endswith(DEAD_LETTER_SUFFIX):
        model: type[BaseModel] | None = UnreadableRecordData if event_type == UNREADABLE_EVENT_TYPE else DeadLetterData
    else:
        model = EVENT_PAYLOADS.get(event_type)
    if model is None:
        raise UnregisteredEvent(f"{event_type} is not in tenure_shared.events.EVENT_PAYLOADS")
    if type(data) is not model:
        raise UnregisteredEvent(f"{event_type} carries {model.__name__}, not {type(data).__name__}")


def public_data(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """A payload as it leaves Tenure: without the model's internal fields."""
    hidden = INTERNAL_FIELDS.get(model, frozenset())
    return {name: value for name, value in data.items() if name not in hidden}


def public_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of a public payload: the model's, without its internal fields (nor the
    definitions only those used)."""
    schema = model.model_json_schema()
    hidden = INTERNAL_FIELDS.get(model, frozenset())
    schema["properties"] = {name: field for name, field in schema["properties"].items() if name not in hidden}
    schema["required"] = [name for name in schema.get("required", []) if name not in hidden]
    definitions = schema.pop("$defs", {})
    kept: dict[str, Any] = {}
    pending = [schema]
    while pending:  # keep the definitions still referenced, directly or through another kept one
        text = json.dumps(pending.pop())
        for name, definition in definitions.items():
            if name not in kept and f'"#/$defs/{name}"' in text:
                kept[name] = definition
                pending.append(definition)
    if kept:
        schema["$defs"] = kept
    return schema
