"""Usage billing's refusals, each with a stable code."""

from __future__ import annotations

from tenure_shared.errors import InvalidRequest, NotFound


class SubscriptionNotFound(NotFound):
    code = "subscription_not_found"


class TooManyEvents(InvalidRequest):
    code = "too_many_events"


class InvalidUsageBatch(InvalidRequest):
    code = "validation_error"


class MalformedJson(InvalidRequest):
    code = "malformed_json"
