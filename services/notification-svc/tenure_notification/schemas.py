"""Request and response bodies of notification-svc's API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2048)
    event_types: list[str] = Field(min_length=1)
    description: str | None = Field(default=None, max_length=500)


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2048)
    event_types: list[str] | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, max_length=500)
    # Re-enable an endpoint a 410 disabled, or pause one by hand.
    status: str | None = Field(default=None, pattern="^(enabled|disabled)$")


class EndpointOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str | None
    status: str
    disabled_reason: str | None
    created_at: datetime
    # Only in the answers to create and rotate-secret.
    secret: str | None = None
    previous_secret_expires_at: datetime | None = None


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    created_at: datetime
    attempts: list[AttemptOut]


class EventTypeOut(BaseModel):
    type: str
    schema_version: str
    data_schema: dict[str, Any]


class EmailOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    customer_id: str
    to: str
    template: str
    subject: str
    status: str
    event_id: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    created_at: datetime


class EmailSettingsOut(BaseModel):
    # Template name -> whether it is sent.
    templates: dict[str, bool]


class EmailSettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    templates: dict[str, bool]


class ListOut(BaseModel):
    data: list
    has_more: bool
