"""A quote as a `tenure_shared.pdf.Document`: the first invoice after acceptance, then each period."""

from __future__ import annotations

from datetime import datetime

from tenure_shared.pdf import Document, DocumentLine, day_text, line_detail, render
from tenure_subscription.models import Quote


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def quote_document(quote: Quote) -> Document:
    lines: list[DocumentLine] = []
    discounts: list[DocumentLine] = []
    for line in quote.lines:
        period = _moment(line.get("period_start")), _moment(line.get("period_end"))
        detail = line_detail(line["quantity"], line["unit_amount"], quote.currency, *period)
        (discounts if line["kind"] == "discount" else lines).append(DocumentLine(line["description"], line["amount"], detail))
    facts = [
        ("Issued", day_text(quote.finalized_at)),
        ("Valid until", day_text(quote.expires_at)),
        ("Takes effect", day_text(quote.effective_at)),
        ("Status", quote.status),
    ]
    if quote.note:
        facts.append(("Note", quote.note))
    return Document(
        title="Quote",
        number=quote.number or "",
        currency=quote.currency,
        issuer=["Tenure"],
        recipient=[f"Customer {quote.customer_id}", f"Subscription {quote.subscription_id}"],
        facts=facts,
        lines=lines,
        discounts=discounts,
        totals=[("Subtotal", quote.subtotal), ("Each following period", quote.recurring_total), ("Total", quote.total)],
    )


def quote_pdf(quote: Quote) -> bytes:
    return render(quote_document(quote))
