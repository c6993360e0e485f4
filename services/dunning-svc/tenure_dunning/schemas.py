"""Request and response bodies of dunning-svc's API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt

from tenure_dunning.statuses import CaseStatus
from tenure_shared.pagination import ListPage, filter_of

CaseStatusFilter = filter_of(CaseStatus)


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retry_after_days: list[StrictInt]
    final_action: Literal["move_to_free_plan", "cancel", "mark_unpaid"]
    notify_customer: StrictBool = True


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    retry_after_days: list[int]
    final_action: str
    notify_customer: bool


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    outcome: str
    payment_id: str | None
    failure_code: str | None


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    invoice_id: str
    subscription_id: str | None
    customer_id: str
    status: CaseStatus
    attempts: list[AttemptOut]
    next_retry_at: datetime | None
    final_action: str


ListOut = ListPage  # typed per route: ListOut[CaseOut]
