"""health-score-svc's HTTP app (uvicorn tenure_health.main:app)."""

from tenure_health.config import CONSUMED_TOPICS, get_settings
from tenure_shared.app import create_app

app = create_app(
    settings=get_settings(),
    title="Tenure health-score-svc",
    description="Customer health scores and retention reports (arrives with its own issue).",
    public_routers=[],
    consumed_topics=CONSUMED_TOPICS,
)
