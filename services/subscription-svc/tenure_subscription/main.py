"""subscription-svc's HTTP app (uvicorn tenure_subscription.main:app)."""

from tenure_shared.app import create_app
from tenure_subscription import api_quotes
from tenure_subscription.access.routes import portal_router
from tenure_subscription.access.verification import local_key_lookup
from tenure_subscription.api import internal_router, router
from tenure_subscription.config import CONSUMED_TOPICS, get_settings
from tenure_subscription.jobs import JOB_HANDLERS
from tenure_subscription.portal.routes import router as portal_pages_router

app = create_app(
    settings=get_settings(),
    title="Tenure subscription-svc",
    description="Catalog, customers, subscriptions, quotes, account settings and test clocks.",
    public_routers=[router, api_quotes.router],
    internal_routers=[internal_router],
    job_handlers=JOB_HANDLERS,
    consumed_topics=CONSUMED_TOPICS,
    page_routers=[portal_router, portal_pages_router],
    key_lookup=local_key_lookup,
)
