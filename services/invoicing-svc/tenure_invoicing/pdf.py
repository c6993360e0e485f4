"""An invoice as a `tenure_shared.pdf.Document`: its lines, discounts, credits applied and totals."""

from __future__ import annotations

from tenure_invoicing.models import Invoice
from tenure_shared.pdf import Document, DocumentLine, day_text, line_detail, period_text, render


def invoice_document(invoice: Invoice) -> Document:
    lines: list[DocumentLine] = []
    discounts: list[DocumentLine] = []
    for line in invoice.lines:
        detail = line_detail(line.quantity, line.unit_amount, invoice.currency, line.period_start, line.period_end)
        (discounts if line.kind == "discount" else lines).append(DocumentLine(line.description, line.amount, detail))
    credits = [DocumentLine(f"Credit note {c['credit_note_id']}", -c["amount"]) for c in invoice.credits_applied]
    facts = [("Issued", day_text(invoice.issued_at)), ("Status", invoice.status)]
    if period := period_text(invoice.period_start, invoice.period_end):
        facts.insert(1, ("Period", period))
    return Document(
        title="Invoice",
        number=invoice.number,
        currency=invoice.currency,
        issuer=["Tenure"],
        recipient=[f"Customer {invoice.customer_id}"]
        + ([f"Subscription {invoice.subscription_id}"] if invoice.subscription_id else []),
        facts=facts,
        lines=lines,
        discounts=discounts,
        credits=credits,
        totals=[
            ("Subtotal", invoice.subtotal),
            ("Total", invoice.total),
            ("Amount paid", invoice.amount_paid),
            ("Amount due", invoice.amount_due),
        ],
    )


def invoice_pdf(invoice: Invoice) -> bytes:
    return render(invoice_document(invoice))
