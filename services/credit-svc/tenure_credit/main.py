"""credit-svc's HTTP app (uvicorn tenure_credit.main:app)."""

from tenure_credit.api import internal_router, router
from tenure_credit.config import CONSUMED_TOPICS, get_settings
from tenure_shared.app import create_app

app = create_app(
    settings=get_settings(),
    title="Tenure credit-svc",
    description="The credit ledger: credit notes, balances per currency, application to invoices, refunds, credit previews.",
    public_routers=[router],
    internal_routers=[internal_router],
    consumed_topics=CONSUMED_TOPICS,
)
