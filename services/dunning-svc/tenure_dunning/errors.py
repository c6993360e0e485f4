"""dunning-svc's refusals, each with a stable code."""

from __future__ import annotations

from tenure_shared.errors import InvalidRequest, NotFound


class DunningCaseNotFound(NotFound):
    code = "dunning_case_not_found"


class InvalidPolicy(InvalidRequest):
    code = "invalid_dunning_policy"
