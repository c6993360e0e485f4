"""subscription-svc's statuses and their legal moves (the models change status only through them)."""

from __future__ import annotations

from enum import StrEnum


class SubscriptionStatus(StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"  # on the free plan too (`on_free_plan`)
    PAUSED = "paused"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


SUBSCRIPTION_MOVES = {
    SubscriptionStatus.TRIALING: {SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED},
    SubscriptionStatus.ACTIVE: {SubscriptionStatus.PAUSED, SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED},
    SubscriptionStatus.PAUSED: {SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELLED},
    # Reactivation: back to active, or to trialing when reactivated within the trial it was cancelled in.
    SubscriptionStatus.CANCELLED: {SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING},
    SubscriptionStatus.EXPIRED: {SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING},
}


class TestClockStatus(StrEnum):
    __test__ = False  # not a pytest class

    READY = "ready"
    ADVANCING = "advancing"


TEST_CLOCK_MOVES = {
    TestClockStatus.READY: {TestClockStatus.ADVANCING},
    TestClockStatus.ADVANCING: {TestClockStatus.READY},
}


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"  # finalized: numbered and sent, waiting for the customer
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


QUOTE_MOVES = {
    QuoteStatus.DRAFT: {QuoteStatus.OPEN, QuoteStatus.CANCELLED},
    QuoteStatus.OPEN: {QuoteStatus.ACCEPTED, QuoteStatus.DECLINED, QuoteStatus.EXPIRED, QuoteStatus.CANCELLED},
}
