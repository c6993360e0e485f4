"""Request and response bodies of health-score-svc's API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, model_validator

MAX_ID_LENGTH = 200


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    customer_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)


class TicketIn(_Item):
    opened_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    severity: Literal["low", "normal", "high", "urgent"]
    status: Literal["open", "closed"]
    subject: str | None = None

    @model_validator(mode="after")
    def _closed_consistently(self) -> TicketIn:
        if self.status == "closed" and self.closed_at is None:
            raise ValueError("a closed ticket needs closed_at")
        if self.closed_at is not None and self.closed_at < self.opened_at:
            raise ValueError("closed_at is before opened_at")
        return self


class SurveyIn(_Item):
    kind: Literal["nps", "csat"]
    score: StrictInt
    comment: str | None = None
    answered_at: AwareDatetime

    @model_validator(mode="after")
    def _score_in_range(self) -> SurveyIn:
        low, high = (0, 10) if self.kind == "nps" else (1, 5)
        if not low <= self.score <= high:
            raise ValueError(f"a {self.kind} score is {low} to {high}")
        return self


class ActivityIn(_Item):
    name: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    user_id: str | None = None
    at: AwareDatetime
    count: StrictInt = Field(1, ge=1)


class ItemError(BaseModel):
    index: int
    id: str | None
    field: str | None
    code: str
    detail: str


class SignalsOut(BaseModel):
    """Valid items are stored; each bad item is listed in `errors` and stores nothing."""

    accepted: int
    updated: int = 0
    duplicates: int
    duplicate_ids: list[str]
    rejected: int
    errors: list[ItemError]


class FactorOut(BaseModel):
    name: str
    score: int | None
    weight: float
    contribution: float
    detail: str


class TrendOut(BaseModel):
    d7: int | None
    d30: int | None


class HealthOut(BaseModel):
    customer_id: str
    score: int
    status: str
    lifecycle_stage: str
    profile: str
    factors: list[FactorOut]
    trend: TrendOut
    first_value_at: datetime | None
    time_to_first_value: timedelta | None
    computed_at: datetime


class HealthListItem(BaseModel):
    id: str
    customer_id: str
    score: int
    status: str
    lifecycle_stage: str
    computed_at: datetime


class HistoryItem(BaseModel):
    id: str
    score: int
    status: str
    lifecycle_stage: str
    computed_at: datetime


class ListOut(BaseModel):
    data: list
    has_more: bool


class SummaryOut(BaseModel):
    total: int
    by_status: dict[str, int]
    by_stage: dict[str, int]
