"""Bodies of the usage routes. The ingestion route parses its body itself (see ingestion.py); these
models document it in the OpenAPI description and shape the replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class UsageEventIn(BaseModel):
    id: str = Field(min_length=1, max_length=255, description="Deduplicates: a repeat (in the batch or later) counts once.")
    customer_id: str = Field(min_length=1, max_length=255)
    subscription_id: str | None = Field(
        None, max_length=255, description="Optional; without it, the customer's subscription charging the metric."
    )
    metric_code: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")
    timestamp: datetime = Field(description="When the usage happened (RFC 3339 with an offset).")
    value: float | str | None = Field(None, description="A non-negative number (or decimal string), stored exactly.")
    properties: dict[str, Any] | None = None


class UsageEventsIn(BaseModel):
    events: list[UsageEventIn] = Field(max_length=1000)


class UsageEventError(BaseModel):
    index: int
    id: str | None
    field: str | None
    code: str
    detail: str


class UsageEventsOut(BaseModel):
    accepted: int = Field(description="New events stored.")
    duplicates: int = Field(description="Events whose id was seen before, in this batch or earlier.")
    duplicate_ids: list[str]
    rejected: int = Field(description="Malformed events, listed in `errors`; the rest of the batch is accepted.")
    errors: list[UsageEventError]


class UsageTierOut(BaseModel):
    from_units: str
    to_units: str | None
    quantity: str
    unit_amount: int
    flat_amount: int
    amount: str


class MetricUsageOut(BaseModel):
    metric_code: str
    metric_name: str
    aggregation: str
    period_start: datetime
    period_end: datetime
    quantity: str = Field(description="The aggregate so far, exact.")
    billable_quantity: str
    model: str
    unit_amount: int
    included_units: int
    tiers: list[UsageTierOut]
    amount: int = Field(description="What this usage would bill now, in minor units.")


class SubscriptionUsageOut(BaseModel):
    subscription_id: str
    customer_id: str
    currency: str
    period_start: datetime | None = Field(description="The current billing period.")
    period_end: datetime | None
    usage_since: datetime = Field(description="Usage from here on is not billed yet.")
    as_of: datetime
    metrics: list[MetricUsageOut]
    amount: int
