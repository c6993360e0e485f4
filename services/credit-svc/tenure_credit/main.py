"""credit-svc's HTTP app (uvicorn tenure_credit.main:app)."""

from tenure_shared.app import create_app

from tenure_credit.config import CONSUMED_TOPICS, get_settings

app = create_app(
    settings=get_settings(),
    title="Tenure credit-svc",
    description="Credit notes, balances, refunds and credit previews (ledger arrives with the credits issue).",
    public_routers=[],
    consumed_topics=CONSUMED_TOPICS,
)
