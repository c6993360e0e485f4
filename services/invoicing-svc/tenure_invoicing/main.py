"""invoicing-svc's HTTP app (uvicorn tenure_invoicing.main:app)."""

from tenure_shared.app import create_app

from tenure_invoicing.api import internal_router, router
from tenure_invoicing.config import CONSUMED_TOPICS, get_settings

app = create_app(
    settings=get_settings(),
    title="Tenure invoicing-svc",
    description="Invoices, payments through the sandbox gateway, one-time charges.",
    public_routers=[router],
    internal_routers=[internal_router],
    consumed_topics=CONSUMED_TOPICS,
)
