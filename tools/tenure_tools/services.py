"""The five services: their names, Python packages and default ports."""

from __future__ import annotations

from tenure_shared.settings import SERVICE_PORTS

PACKAGES = {
    "subscription": "tenure_subscription",
    "invoicing": "tenure_invoicing",
    "dunning": "tenure_dunning",
    "credit": "tenure_credit",
    "health-score": "tenure_health",
}
SERVICES = tuple(PACKAGES)
URL_SETTINGS = {
    "subscription": "SUBSCRIPTION_SVC_URL",
    "invoicing": "INVOICING_SVC_URL",
    "dunning": "DUNNING_SVC_URL",
    "credit": "CREDIT_SVC_URL",
    "health-score": "HEALTH_SCORE_SVC_URL",
}
DEFAULT_PORTS = SERVICE_PORTS
