"""subscription-svc's refusals, each with a stable code."""

from __future__ import annotations

from tenure_shared.errors import Conflict, InvalidRequest, NotFound


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


class FreePlanNotConfigured(InvalidRequest):
    code = "free_plan_not_configured"


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
