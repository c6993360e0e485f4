"""Tables owned by notification-svc."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tenure_notification.statuses import (
    DELIVERY_MOVES,
    EMAIL_MOVES,
    ENDPOINT_MOVES,
    DeliveryStatus,
    EmailStatus,
    EndpointStatus,
)
from tenure_shared.db import Base
from tenure_shared.states import move

TZ = DateTime(timezone=True)


class CustomerAccount(Base):
    """What notification-svc knows of a customer (where to write), kept from customer.* events."""

    __tablename__ = "customer_accounts"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    clock_id: Mapped[str | None] = mapped_column(String)
    version: Mapped[int] = mapped_column(Integer, default=0)
    email: Mapped[str] = mapped_column(String)
    name: Mapped[str] = mapped_column(String)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    url: Mapped[str] = mapped_column(String)
    event_types: Mapped[list[str]] = mapped_column(JSONB)
    description: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)  # EndpointStatus; changed only by move_to
    disabled_reason: Mapped[str | None] = mapped_column(String)
    secret: Mapped[str] = mapped_column(String)
    # After a rotation the old secret keeps signing (beside the new one) until this instant.
    previous_secret: Mapped[str | None] = mapped_column(String)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(TZ)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    def move_to(self, status: EndpointStatus, *, reason: str | None = None) -> None:
        self.status = move(self.status, status, ENDPOINT_MOVES, what=f"Webhook endpoint {self.id}")
        self.disabled_reason = reason if status == EndpointStatus.DISABLED else None


class WebhookDelivery(Base):
    """One event for one endpoint; its attempts are logged in webhook_attempts."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_event"),
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    event_id: Mapped[str] = mapped_column(String)
    event_type: Mapped[str] = mapped_column(String)
    envelope: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String)  # DeliveryStatus; changed only by move_to
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    def move_to(self, status: DeliveryStatus) -> None:
        self.status = move(self.status, status, DELIVERY_MOVES, what=f"Webhook delivery {self.id}")


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(TZ)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)


class EmailSetting(Base):
    """A template switched off (or on again); templates without a row are on."""

    __tablename__ = "email_settings"

    template: Mapped[str] = mapped_column(String, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)


class Email(Base):
    __tablename__ = "emails"
    # At most one email per event and template, whatever the redeliveries.
    __table_args__ = (UniqueConstraint("event_id", "template", name="uq_email_event_template"),)

    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    to: Mapped[str] = mapped_column(String)
    template: Mapped[str] = mapped_column(String)
    subject: Mapped[str] = mapped_column(String)
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String)  # EmailStatus; changed only by move_to
    event_id: Mapped[str] = mapped_column(String)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    def move_to(self, status: EmailStatus) -> None:
        self.status = move(self.status, status, EMAIL_MOVES, what=f"Email {self.id}")
