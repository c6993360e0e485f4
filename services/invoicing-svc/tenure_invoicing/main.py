"""invoicing-svc's HTTP app (uvicorn tenure_invoicing.main:app)."""

from tenure_invoicing.api import internal_router, router
from tenure_invoicing.config import CONSUMED_TOPICS, get_settings
from tenure_invoicing.usage.api import router as usage_router
from tenure_invoicing.usage.ingestion import with_usage_ingestor
from tenure_shared.app import create_app

app = create_app(
    settings=get_settings(),
    title="Tenure invoicing-svc",
    description="Invoices, payments through the sandbox gateway, one-time charges, usage-based billing.",
    public_routers=[router, usage_router],
    internal_routers=[internal_router],
    consumed_topics=CONSUMED_TOPICS,
)
# The usage ingestion route writes through its own raw asyncpg pool (see usage/ingestion.py).
app.router.lifespan_context = with_usage_ingestor(app.router.lifespan_context, lambda: get_settings().service_database_url())
