"""The six services: their names, Python packages and default ports."""

from __future__ import annotations

from tenure_shared.settings import SERVICE_PORTS, SERVICES

PACKAGES = {
    "subscription": "tenure_subscription",
    "invoicing": "tenure_invoicing",
    "dunning": "tenure_dunning",
    "credit": "tenure_credit",
    "health-score": "tenure_health",
    "notification": "tenure_notification",
}
assert set(PACKAGES) == set(SERVICES), "every service of tenure_shared.settings.SERVICES has a package"
URL_SETTINGS = {service: f"{service.upper().replace('-', '_')}_SVC_URL" for service in SERVICES}
DEFAULT_PORTS = SERVICE_PORTS
