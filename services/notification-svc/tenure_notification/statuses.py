"""notification-svc's statuses and their legal moves (the models change status only through them)."""

from __future__ import annotations

from enum import StrEnum


class EndpointStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"


ENDPOINT_MOVES = {EndpointStatus.ENABLED: {EndpointStatus.DISABLED}, EndpointStatus.DISABLED: {EndpointStatus.ENABLED}}


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# A delivery can be sent again by hand whatever its outcome.
DELIVERY_MOVES = {
    DeliveryStatus.PENDING: {DeliveryStatus.SUCCEEDED, DeliveryStatus.FAILED},
    DeliveryStatus.SUCCEEDED: {DeliveryStatus.PENDING},
    DeliveryStatus.FAILED: {DeliveryStatus.PENDING},
}


class EmailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # its template is switched off: logged, never sent


EMAIL_MOVES = {EmailStatus.PENDING: {EmailStatus.SENT, EmailStatus.FAILED}}
