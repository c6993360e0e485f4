"""subscription-svc's refusals, each with a stable code."""

from __future__ import annotations

from tenure_shared.errors import Conflict, InvalidRequest, NotFound, PaymentRequired


class PlanNotFound(NotFound):
    code = "plan_not_found"


class PlanAlreadyExists(Conflict):
    code = "plan_already_exists"


class PlanArchived(InvalidRequest):
    code = "plan_archived"


class CustomerNotFound(NotFound):
    code = "customer_not_found"


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"


class CurrencyMismatch(InvalidRequest):
    code = "currency_mismatch"


class SubscriptionNotChangeable(Conflict):
    code = "subscription_not_changeable"


class TestClockNotFound(NotFound):
    code = "test_clock_not_found"
    __test__ = False


class TestClockAdvancing(Conflict):
    code = "test_clock_advancing"
    __test__ = False


class InvalidClockTime(InvalidRequest):
    code = "invalid_frozen_time"


class MetricNotFound(NotFound):
    code = "metric_not_found"


class MetricAlreadyExists(Conflict):
    code = "metric_already_exists"


# ---- subscription lifecycle: add-ons, changes, cancellation, reactivation ------------------------


class AddonNotFound(NotFound):
    code = "addon_not_found"


class AddonAlreadyExists(Conflict):
    code = "addon_already_exists"


class AddonArchived(InvalidRequest):
    code = "addon_archived"


class AddonIntervalMismatch(InvalidRequest):
    code = "addon_interval_mismatch"


class DuplicateAddon(InvalidRequest):
    code = "duplicate_addon"


class EmptyChange(InvalidRequest):
    code = "empty_change"


class ScheduledChangeConflict(Conflict):
    code = "scheduled_change_conflict"


class ScheduledChangeNotFound(NotFound):
    code = "scheduled_change_not_found"


class SubscriptionAlreadyCancelled(Conflict):
    code = "subscription_already_cancelled"


class SubscriptionNotCancellable(Conflict):
    code = "subscription_not_cancellable"


class SubscriptionNotReactivatable(Conflict):
    code = "subscription_not_reactivatable"


class ReactivationPaymentFailed(PaymentRequired):
    code = "payment_failed"


# ---- pause and resume -------------------------------------------------------------------------


class SubscriptionNotPausable(Conflict):
    code = "subscription_not_pausable"


class SubscriptionAlreadyPaused(Conflict):
    code = "subscription_already_paused"


class SubscriptionNotPaused(Conflict):
    code = "subscription_not_paused"


class ResumeBeforePause(InvalidRequest):
    code = "resume_before_pause"


class ResumeInPast(InvalidRequest):
    code = "resume_in_past"


class PauseBeforeCurrentPeriod(InvalidRequest):
    code = "pause_before_current_period"


class PauseBeforeLastResume(InvalidRequest):
    code = "pause_before_last_resume"


# ---- coupons and discounts --------------------------------------------------------------------


class CouponNotFound(NotFound):
    code = "coupon_not_found"


class CouponAlreadyExists(Conflict):
    code = "coupon_already_exists"


class PromotionCodeAlreadyExists(Conflict):
    code = "promotion_code_already_exists"


class CouponExpired(Conflict):
    code = "coupon_expired"


class CouponArchived(Conflict):
    code = "coupon_archived"


class CouponMaxRedeemed(Conflict):
    code = "coupon_max_redeemed"


class CouponNotApplicable(InvalidRequest):
    code = "coupon_not_applicable"


class PromotionCodeNotEligible(InvalidRequest):
    code = "promotion_code_not_eligible"


class DiscountAlreadyApplied(Conflict):
    code = "discount_already_applied"


class DiscountNotFound(NotFound):
    code = "discount_not_found"


class SubscriptionNotRenewing(Conflict):
    code = "subscription_not_renewing"


class QuoteNotFound(NotFound):
    code = "quote_not_found"


class QuoteRequiresApproval(Conflict):
    code = "quote_requires_approval"


class QuoteNotOpen(Conflict):
    """The action needs a quote in another status (e.g. accepting a draft or a declined quote)."""

    code = "quote_not_open"


class QuoteNotFinalized(Conflict):
    """A draft has no number and may still change: only a finalized quote has a PDF."""

    code = "quote_not_finalized"


class QuoteExpired(Conflict):
    code = "quote_expired"


class QuoteStale(Conflict):
    """The subscription changed since the quote was priced: what it says would no longer be billed."""

    code = "quote_stale"


class InvalidQuoteExpiry(InvalidRequest):
    code = "invalid_quote_expiry"


class NoRetentionOffer(NotFound):
    """No retention coupon is set up, or this subscription cannot take it (taken once already, not
    running, or the coupon is no longer redeemable)."""

    code = "no_retention_offer"
