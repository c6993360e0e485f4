"""dunning-svc's HTTP app (uvicorn tenure_dunning.main:app)."""

from tenure_dunning.api import router
from tenure_dunning.config import CONSUMED_TOPICS, get_settings
from tenure_dunning.jobs import JOB_HANDLERS
from tenure_shared.app import create_app

app = create_app(
    settings=get_settings(),
    title="Tenure dunning-svc",
    description="Failed-payment retries on a policy, and what happens when they run out.",
    public_routers=[router],
    job_handlers=JOB_HANDLERS,
    consumed_topics=CONSUMED_TOPICS,
)
