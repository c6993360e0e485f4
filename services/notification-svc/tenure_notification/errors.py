"""notification-svc's refusals, each with a stable code."""

from __future__ import annotations

from tenure_shared.errors import Conflict, InvalidRequest, NotFound


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"


class WebhookDeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"


class WebhookUrlRefused(InvalidRequest):
    code = "webhook_url_refused"


class UnknownEventType(InvalidRequest):
    code = "unknown_event_type"


class WebhookEndpointDisabled(Conflict):
    code = "webhook_endpoint_disabled"


class UnknownEmailTemplate(InvalidRequest):
    code = "unknown_email_template"
