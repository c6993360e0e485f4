"""notification-svc's HTTP app (uvicorn tenure_notification.main:app)."""

from tenure_notification.api import router
from tenure_notification.config import CONSUMED_TOPICS, get_settings
from tenure_notification.jobs import JOB_HANDLERS
from tenure_shared.app import create_app

app = create_app(
    settings=get_settings(),
    title="Tenure notification-svc",
    description="Signed webhooks (Standard Webhooks) to your endpoints and emails to your customers, from public events.",
    public_routers=[router],
    job_handlers=JOB_HANDLERS,
    consumed_topics=CONSUMED_TOPICS,
)
