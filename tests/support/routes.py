"""Routes the tests use across layers."""

from __future__ import annotations

# A read route of each of the six services.
READ_ROUTES = {
    "subscription": "/v1/plans",
    "invoicing": "/v1/invoices",
    "dunning": "/v1/dunning-cases",
    "credit": "/v1/credit-notes",
    "health-score": "/v1/health/summary",
    "notification": "/v1/emails",
}
