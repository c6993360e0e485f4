"""Request and response bodies of subscription-svc's public API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from tenure_shared.errors import coded_error
from tenure_shared.events import CancellationDetailsData, ChargeLine, PauseWindow, SubscriptionData
from tenure_shared.fields import Timestamp
from tenure_shared.money import Amount, CurrencyCode
from tenure_shared.pagination import ListPage, filter_of
from tenure_subscription.statuses import QuoteStatus, SubscriptionStatus

Code = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$", description="lower-case letters, digits, - and _")


def _check_quantity(quantity: int) -> int:
    if quantity < 1:
        raise coded_error("invalid_quantity", "A quantity is a whole number of at least 1.")
    return quantity


# A plan's or add-on's quantity: 0 or less is refused with the stable code `invalid_quantity`.
Quantity = Annotated[StrictInt, AfterValidator(_check_quantity)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


SubscriptionStatusFilter = filter_of(SubscriptionStatus)
QuoteStatusFilter = filter_of(QuoteStatus)


class TierIn(Strict):
    """A price tier up to an inclusive cumulative unit bound; the last tier has `up_to` null."""

    up_to: StrictInt | None = Field(None, gt=0)
    unit_amount: Amount = 0
    flat_amount: Amount = 0


class MeteredChargeIn(Strict):
    metric_code: str
    unit_amount: Amount = 0
    included_units: StrictInt = Field(0, ge=0)
    model: Literal["per_unit", "tiered", "volume", "package"] = "per_unit"
    tiers: list[TierIn] | None = None
    package_size: StrictInt = Field(1, ge=1)

    @model_validator(mode="after")
    def _tiers_fit_the_model(self) -> MeteredChargeIn:
        tiers = self.tiers or []
        if self.model in ("per_unit", "package"):
            if tiers:
                raise coded_error("invalid_tiers", f"A {self.model} charge takes no tiers.")
            return self
        if not tiers:
            raise coded_error("invalid_tiers", f"A {self.model} charge needs tiers.")
        *inner, last = (t.up_to for t in tiers)
        finite = [b for b in inner if b is not None]
        if last is not None or len(finite) != len(inner):
            raise coded_error("invalid_tiers", "Only the last tier is open-ended (up_to null), and it must be.")
        if any(b <= a for a, b in pairwise(finite)):
            raise coded_error("invalid_tiers", "Tier bounds (up_to) must be strictly increasing.")
        return self


class PlanIn(Strict):
    code: str = Code
    name: str = Field(min_length=1, max_length=200)
    currency: CurrencyCode
    amount: Amount
    interval: Literal["day", "week", "month", "year"] = "month"
    interval_count: StrictInt = Field(1, ge=1, le=365)
    trial_days: StrictInt = Field(0, ge=0, le=730)
    features: list[str] = []
    metered_charges: list[MeteredChargeIn] = []


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    currency: str
    amount: int
    interval: str
    interval_count: int
    trial_days: int
    features: list[str]
    metered_charges: list[dict[str, Any]]
    archived: bool
    is_free: bool


class CustomerIn(Strict):
    email: EmailStr
    name: str = Field(min_length=1, max_length=200)
    currency: CurrencyCode
    external_id: str | None = None
    payment_method: str | None = None
    test_clock_id: str | None = None
    metadata: dict[str, Any] = {}


# In the patches, a field left out stays as it is; `null` is refused where the field cannot be empty
# (typed without None: the None default is never validated, an explicit null is). Typing has no way
# to say "may be left out, may not be null", so each such None default carries a type: ignore; the
# services read the patches through model_dump(exclude_unset=True), never the defaults.
class CustomerPatch(Strict):
    email: EmailStr = None  # type: ignore[assignment]  # None: left out
    name: str = Field(None, min_length=1, max_length=200)  # type: ignore[assignment]  # None: left out
    payment_method: str | None = None  # null removes the payment method
    metadata: dict[str, Any] = None  # type: ignore[assignment]  # None: left out


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    name: str
    currency: str
    external_id: str | None
    payment_method: str | None
    test_clock_id: str | None
    # The model's attribute is `metadata_` (`metadata` is SQLAlchemy's own).
    metadata: dict[str, Any] = Field(validation_alias=AliasChoices("metadata_", "metadata"))


class SettingsPatch(Strict):
    free_plan_code: str | None = None  # null: no free plan
    trial_end_action: Literal["move_to_free_plan", "cancel"] = None  # type: ignore[assignment]  # None: left out
    proration: Literal["immediate", "next_invoice", "none"] = None  # type: ignore[assignment]  # None: left out
    redeem_credits: StrictBool = None  # type: ignore[assignment]  # None: left out
    reactivation_requires_payment: StrictBool = None  # type: ignore[assignment]  # None: left out
    timezone: str = None  # type: ignore[assignment]  # None: left out
    # Days before a renewal (of subscriptions billed less often than monthly) to remind the customer.
    renewal_reminder_days: list[Annotated[StrictInt, Field(ge=1, le=366)]] = Field(None, max_length=10)  # type: ignore[arg-type]  # None: left out
    # A quote whose discount is more than this % of its subtotal needs an admin's approval; null: never.
    quote_approval_percent_off: Annotated[StrictInt, Field(ge=0, le=100)] | None = None
    # The coupon offered to a customer about to cancel (once per subscription); null: no offer.
    retention_coupon_code: str | None = Field(None, min_length=1, max_length=255)


class SettingsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    free_plan_code: str | None
    trial_end_action: str
    proration: str
    redeem_credits: bool
    reactivation_requires_payment: bool
    timezone: str
    renewal_reminder_days: list[int]
    quote_approval_percent_off: int | None
    retention_coupon_code: str | None


class AddonIn(Strict):
    """A recurring add-on (`interval`, renewed with plans of the same interval) or a `one_time` one."""

    code: str = Code
    name: str = Field(min_length=1, max_length=200)
    currency: CurrencyCode
    amount: Amount
    interval: Literal["day", "week", "month", "year"] | None = None
    interval_count: StrictInt = Field(1, ge=1, le=365)
    one_time: StrictBool = False

    @model_validator(mode="after")
    def _recurring_or_one_time(self) -> AddonIn:
        if self.one_time == (self.interval is not None):
            raise coded_error("addon_interval_required", "Give either `interval` (recurring) or `one_time: true`.")
        return self


class AddonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    currency: str
    amount: int
    interval: str | None
    interval_count: int
    one_time: bool
    archived: bool


class AddonRef(Strict):
    code: str
    quantity: Quantity = 1


class SubscriptionIn(Strict):
    customer_id: str
    plan_code: str
    quantity: Quantity = 1
    addons: list[AddonRef] = []
    trial_days: StrictInt | None = Field(None, ge=0, le=730)
    start_at: Timestamp | None = None
    coupon_code: str | None = None
    promotion_code: str | None = None

    @model_validator(mode="after")
    def _one_code(self) -> SubscriptionIn:
        return _at_most_one_code(self)


def _at_most_one_code(body: Any) -> Any:
    if body.coupon_code is not None and body.promotion_code is not None:
        raise coded_error("invalid_discount_code", "Give coupon_code or promotion_code, not both.")
    return body


class DiscountOut(BaseModel):
    id: str
    coupon_code: str
    promotion_code: str | None
    percent_off: float | None
    amount_off: int | None
    currency: str | None
    duration: str
    starts_at: datetime
    ends_at: datetime | None
    periods_remaining: int | None


class PauseOut(BaseModel):
    paused_at: datetime
    resume_at: datetime | None


class ScheduledChangeOut(BaseModel):
    """A change waiting for the end of the term (null fields stay as they are)."""

    id: str
    plan_code: str | None
    quantity: int | None
    addons: list[AddonRef] | None
    effective_at: datetime


class SubscriptionOut(BaseModel):
    id: str
    customer_id: str
    status: SubscriptionStatus
    plan_code: str
    quantity: int
    addons: list[AddonRef]
    current_period_start: datetime | None
    current_period_end: datetime | None
    trial_end: datetime | None
    renews_at: datetime | None
    pause: PauseOut | None
    cancel_at_period_end: bool
    cancelled_at: datetime | None
    cancellation_details: CancellationDetailsData | None = None
    on_free_plan: bool
    last_paid_plan_code: str | None
    unpaid: bool
    scheduled_changes: list[ScheduledChangeOut] = []
    discounts: list[DiscountOut] = []
    # What the customer may use now: `full` (trialing, active) or `none` (paused, cancelled, expired).
    access: Literal["full", "none"] = "full"


class ChangeIn(Strict):
    """The subscription after the change: `addons` is the whole list of add-ons wanted (recurring ones
    replace the current ones; one-time ones are bought once)."""

    plan_code: str | None = None
    quantity: Quantity | None = None
    addons: list[AddonRef] | None = None
    when: Literal["now", "end_of_term"] = "now"
    # A discount from the change on: with `now` it covers the current period, else the next.
    coupon_code: str | None = None
    promotion_code: str | None = None

    @model_validator(mode="after")
    def _one_code(self) -> ChangeIn:
        return _at_most_one_code(self)


class QuoteIn(Strict):
    """A proposed change (upsell: plan, quantity; cross-sell: add-ons), optionally with a coupon."""

    subscription_id: str = Field(min_length=1, max_length=255)
    plan_code: str | None = None
    quantity: Quantity | None = None
    addons: list[AddonRef] | None = None
    coupon_code: str | None = Field(None, min_length=1, max_length=255)
    when: Literal["end_of_term", "now"] = "end_of_term"
    expires_at: Timestamp | None = None
    note: str | None = Field(None, max_length=2000)


class QuoteLineOut(BaseModel):
    kind: str
    description: str
    quantity: int
    unit_amount: int
    amount: int
    period_start: datetime | None
    period_end: datetime | None


class QuoteOut(BaseModel):
    id: str
    number: str | None
    status: str
    subscription_id: str
    customer_id: str
    when: str
    plan_code: str | None
    quantity: int | None
    addons: list[dict[str, Any]] | None
    coupon_code: str | None
    note: str | None
    currency: str
    lines: list[QuoteLineOut]
    subtotal: int
    discount: int
    total: int
    recurring_total: int
    effective_at: datetime | None
    expires_at: datetime | None
    requires_approval: bool
    approved_at: datetime | None
    created_at: datetime

    model_config = ConfigDict(from_attributes=True)


# Why a customer leaves (the same answers as Stripe's cancellation feedback).
CancellationFeedback = Literal[
    "too_expensive", "missing_features", "switched_service", "unused", "customer_service", "too_complex", "low_quality", "other"
]


class CancellationDetails(Strict):
    feedback: CancellationFeedback | None = None
    comment: str | None = Field(None, max_length=1000)


class CancelIn(Strict):
    when: Literal["now", "end_of_term"] = "end_of_term"
    unused_amount: Literal["credit", "refund", "none"] = "none"
    cancellation_details: CancellationDetails | None = None


class CouponTerms(BaseModel):
    """What a coupon takes off and for how long (shown with a coupon and with an offer of it)."""

    name: str
    percent_off: float | None
    amount_off: int | None
    currency: str | None
    duration: str
    duration_in_periods: int | None


class RetentionOfferOut(CouponTerms):
    """The account's retention coupon, offered to a customer about to cancel."""

    coupon_code: str


class ProrationOut(BaseModel):
    credit: int
    charge: int
    net: int
    currency: str


class ChangeOut(BaseModel):
    """A change (or its preview): every line it computes and how each is settled."""

    subscription: SubscriptionOut
    proration: ProrationOut
    effective_at: datetime
    new_period: bool
    when: str
    # Every line the change computes now (proration and, for a new period, the period's charges).
    lines: list[ChargeLine]
    # The lines invoiced (and collected) at once, and the discount lines that invoice gets from the
    # discounts running now (a coupon given with the change itself is not in a preview).
    invoice_now: list[ChargeLine]
    invoice_now_discounts: list[ChargeLine] = []
    # The lines added to the next renewal invoice (proration `next_invoice`).
    next_invoice: list[ChargeLine]
    # Credits not invoiced (a negative net): issued as a credit note by credit-svc.
    credit_note_amount: int
    # The lines of the next renewal invoice once this change is in force.
    renewal_lines: list[ChargeLine]
    scheduled_change: ScheduledChangeOut | None = None


class TimelineEntryOut(BaseModel):
    type: str
    occurred_at: datetime
    data: dict[str, Any]


class TestClockIn(Strict):
    frozen_time: Timestamp
    name: str | None = None


class TestClockAdvance(Strict):
    frozen_time: Timestamp


class TestClockOut(BaseModel):
    id: str
    name: str | None
    frozen_time: datetime
    status: Literal["advancing", "ready"]


ListOut = ListPage  # typed per route: ListOut[PlanOut]


class MetricIn(Strict):
    code: str = Code
    name: str = Field(min_length=1, max_length=200)
    aggregation: Literal["sum", "max", "count", "unique_count"]
    property: str | None = Field(None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _property_fits_the_aggregation(self) -> MetricIn:
        if self.aggregation == "unique_count" and not self.property:
            raise coded_error("property_required", "unique_count counts distinct values of a `property`: name it.")
        if self.aggregation == "count" and self.property:
            raise coded_error("property_not_allowed", "count counts events; it takes no `property`.")
        return self


class MetricOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    aggregation: str
    property: str | None


# ---- pause and resume -------------------------------------------------------------------------


class PauseIn(Strict):
    # Default now; may lie in the past (within the current period, after the last resume) or future.
    pause_at: Timestamp | None = None
    # Optional: the resume is then scheduled, and the reply previews the credit.
    resume_at: Timestamp | None = None


class ResumeIn(Strict):
    # Default now; a later instant schedules the resume.
    resume_at: Timestamp | None = None


class CreditPreviewOut(BaseModel):
    """The credit for the unused paid days of the pause, as credit-svc will issue it at resume."""

    unused_days: int
    period_days: int
    amount: int
    currency: str


class PauseReplyOut(SubscriptionOut):
    credit_preview: CreditPreviewOut | None = None


class PauseWindowIn(Strict):
    """Internal (credit-svc's preview): describe a pause of this subscription."""

    pause_at: AwareDatetime | None = None
    resume_at: AwareDatetime | None = None


class PauseWindowOut(BaseModel):
    currency: str
    window: PauseWindow
    resume_at: datetime | None


class NextRenewalOut(BaseModel):
    """What the next renewal would publish (`subscription.renewed` data), when, and on which clock."""

    subscription: SubscriptionData
    at: datetime
    clock_id: str | None


# ---- coupons and discounts --------------------------------------------------------------------

PercentOff = Annotated[Decimal, Field(gt=0, le=100, max_digits=5, decimal_places=2)]


class AppliesTo(Strict):
    plan_codes: list[str] | None = None
    addon_codes: list[str] | None = None


class CouponIn(Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    percent_off: PercentOff | None = None
    amount_off: Amount | None = None
    currency: CurrencyCode | None = None
    duration: Literal["once", "repeating", "forever"]
    duration_in_periods: StrictInt | None = Field(None, ge=1, le=1200)
    applies_to: AppliesTo | None = None
    max_redemptions: StrictInt | None = Field(None, ge=1)
    redeem_by: Timestamp | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CouponIn:
        if (self.percent_off is None) == (self.amount_off is None):
            raise coded_error("invalid_coupon", "Give exactly one of percent_off and amount_off.")
        if (self.amount_off is not None) != (self.currency is not None):
            raise coded_error("invalid_coupon", "amount_off takes a currency; percent_off takes none.")
        if self.amount_off is not None and self.amount_off <= 0:
            raise coded_error("invalid_coupon", "amount_off must be positive.")
        if (self.duration == "repeating") != (self.duration_in_periods is not None):
            raise coded_error("invalid_coupon", "duration_in_periods goes with duration repeating, and only with it.")
        return self


class CouponOut(BaseModel):
    code: str
    name: str
    percent_off: float | None
    amount_off: int | None
    currency: str | None
    duration: str
    duration_in_periods: int | None
    applies_to: AppliesTo | None
    max_redemptions: int | None
    redeem_by: datetime | None
    archived: bool
    times_redeemed: int


class PromotionCodeIn(Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,63}$")
    coupon_code: str
    max_redemptions: StrictInt | None = Field(None, ge=1)
    expires_at: Timestamp | None = None
    first_time_only: StrictBool = False
    minimum_amount: Amount | None = None
    customer_id: str | None = None


class PromotionCodeOut(BaseModel):
    code: str
    coupon_code: str
    max_redemptions: int | None
    expires_at: datetime | None
    first_time_only: bool
    minimum_amount: int | None
    customer_id: str | None
    times_redeemed: int


class DiscountIn(Strict):
    coupon_code: str | None = None
    promotion_code: str | None = None

    @model_validator(mode="after")
    def _exactly_one_code(self) -> DiscountIn:
        if (self.coupon_code is None) == (self.promotion_code is None):
            raise coded_error("invalid_discount_code", "Give coupon_code or promotion_code.")
        return self


class ReactivateIn(Strict):
    coupon_code: str | None = None
    promotion_code: str | None = None

    @model_validator(mode="after")
    def _one_code(self) -> ReactivateIn:
        return _at_most_one_code(self)


# ---- access: API keys and portal sessions --------------------------------------------------------

ApiKeyScope = Literal["read", "write", "admin"]


class ApiKeyIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[ApiKeyScope] = Field(min_length=1, max_length=3)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[ApiKeyScope]
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The key itself: shown in this reply only.")


class ApiKeyRevokedOut(BaseModel):
    id: str
    revoked: bool


class KeyVerifyIn(Strict):
    """Internal: which principal holds the credential with this SHA-256 (hex)."""

    key_hash: str = Field(pattern=r"^[0-9a-f]{64}$")


class PortalSessionIn(Strict):
    customer_id: str = Field(min_length=1, max_length=200)
    return_url: str | None = Field(None, max_length=2000, pattern=r"^https?://[^\s]+$")


class PortalSessionOut(BaseModel):
    url: str = Field(description="Opens the customer's portal; works once, until `expires_at`.")
    expires_at: datetime
