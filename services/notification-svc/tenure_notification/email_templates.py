"""Customer emails: which event sends which template, and rendering them (Jinja2, text + HTML)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from tenure_shared.money import format_amount

# Event type -> template. Events that do not exist yet (trial_will_end, renewal_upcoming, quotes)
# simply never arrive; their templates are ready when they do.
EMAIL_TRIGGERS = {
    "invoice.paid": "invoice_paid",
    # A failed collection is told from dunning's events, which carry the policy's notify_customer:
    # each failure that leads to another retry, then the end of dunning (instead of a last failure notice).
    "dunning.retry_scheduled": "payment_failed",
    "dunning.exhausted": "dunning_exhausted",
    "subscription.trial_will_end": "trial_will_end",
    "subscription.renewal_upcoming": "renewal_upcoming",
    "subscription.paused": "subscription_paused",
    "subscription.resumed": "subscription_resumed",
    "credit_note.issued": "credit_note_issued",
    "quote.finalized": "quote_sent",
}
TEMPLATES = tuple(EMAIL_TRIGGERS.values())

SUBJECTS = {
    "invoice_paid": "Receipt for invoice {{ data.number }}",
    "payment_failed": "Your payment of {{ data.amount_due | money(data.currency) }} failed",
    "dunning_exhausted": "We could not collect invoice payment",
    "trial_will_end": "Your trial ends soon",
    "renewal_upcoming": "Your subscription renews soon",
    "subscription_paused": "Your subscription is paused",
    "subscription_resumed": "Your subscription is active again",
    "credit_note_issued": "A credit of {{ data.amount | money(data.currency) }} for you",
    "quote_sent": "Your quote {{ data.number | default('') }}",
}

_environment = Environment(
    loader=PackageLoader("tenure_notification", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
_environment.filters["money"] = format_amount


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def wanted(event_type: str, data: dict[str, Any]) -> str | None:
    """The template this event sends, or None. A free invoice (nothing paid) gets no receipt."""
    template = EMAIL_TRIGGERS.get(event_type)
    if template == "invoice_paid" and not data.get("amount_paid"):
        return None
    if event_type.startswith("dunning.") and not data.get("notify_customer", True):
        return None  # the dunning policy says: do not email the customer
    return template


def render(template: str, *, customer_name: str, data: dict[str, Any], portal_url: str) -> RenderedEmail:
    context = {"customer_name": customer_name, "data": data, "portal_url": portal_url}
    return RenderedEmail(
        subject=_environment.from_string(SUBJECTS[template]).render(context).strip(),
        text=_environment.get_template(f"{template}.txt").render(context),
        html=_environment.get_template(f"{template}.html").render(context),
    )
