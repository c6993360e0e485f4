"""health-score-svc's HTTP app (uvicorn tenure_health.main:app)."""

from tenure_health.api import router
from tenure_health.config import CONSUMED_TOPICS, get_settings
from tenure_health.console import install_console
from tenure_health.jobs import JOB_HANDLERS
from tenure_shared.app import create_app

app = create_app(
    settings=get_settings(),
    title="Tenure health-score-svc",
    description="Customer health: scores that explain themselves, lifecycle stages and early warnings, from billing events "
    "and support, survey and activity signals.",
    public_routers=[router],
    job_handlers=JOB_HANDLERS,
    consumed_topics=CONSUMED_TOPICS,
)
install_console(app)
