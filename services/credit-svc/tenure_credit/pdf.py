"""A credit note as a `tenure_shared.pdf.Document`: what it credits, where it was spent, what is left."""

from __future__ import annotations

from tenure_credit.models import CreditNote
from tenure_shared.pdf import Document, DocumentLine, day_text, period_text, render


def credit_note_document(note: CreditNote) -> Document:
    facts = [("Issued", day_text(note.issued_at)), ("Reason", note.reason), ("Status", note.status)]
    if period := period_text(note.period_start, note.period_end):
        facts.insert(1, ("Period", period))
    applied = [
        DocumentLine(f"Applied to invoice {a.invoice_id}", -a.amount, "reversed" if a.reversed_at else day_text(a.applied_at))
        for a in note.applications
    ]
    return Document(
        title="Credit note",
        number=note.number,
        currency=note.currency,
        issuer=["Tenure"],
        recipient=[f"Customer {note.customer_id}"] + ([f"Subscription {note.subscription_id}"] if note.subscription_id else []),
        facts=facts,
        lines=[DocumentLine(note.description, note.amount, period_text(note.period_start, note.period_end))],
        credits=applied,
        totals=[("Credited", note.amount), ("Refunded", note.refunded), ("Remaining", note.remaining)],
    )


def credit_note_pdf(note: CreditNote) -> bytes:
    return render(credit_note_document(note))
