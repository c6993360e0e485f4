"""A generic document PDF (invoice, credit note, quote) rendered with fpdf2.

fpdf2 is pure Python (no system libraries, no browser) and draws a one-page document in a few
milliseconds; the services map their own objects to a `Document` and get the PDF's bytes back.
Only the core Helvetica font is used, so text is limited to Latin-1 (other characters become '?').
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Response
from fpdf import FPDF

from tenure_shared.money import format_amount


@dataclass(frozen=True)
class DocumentLine:
    description: str
    amount: int  # minor units
    detail: str = ""  # e.g. "2 x 10.00" or the line's period


@dataclass(frozen=True)
class Document:
    title: str  # "Invoice", "Credit note", "Quote"
    number: str
    currency: str
    issuer: list[str]  # lines of the issuing party's block
    recipient: list[str]  # lines of the customer's block
    facts: list[tuple[str, str]] = field(default_factory=list)  # issued, period, status…
    lines: list[DocumentLine] = field(default_factory=list)
    discounts: list[DocumentLine] = field(default_factory=list)
    credits: list[DocumentLine] = field(default_factory=list)
    totals: list[tuple[str, int]] = field(default_factory=list)  # the last one is printed bold


def day_text(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else ""


def period_text(start: datetime | None, end: datetime | None) -> str:
    return f"{day_text(start)} to {day_text(end)}" if start and end else ""


def line_detail(quantity: int, unit_amount: int, currency: str, start: datetime | None, end: datetime | None) -> str:
    """What a line's amount is made of: "2 x 10.00 USD, 2026-06-01 to 2026-07-01", or just the period."""
    period = period_text(start, end)
    if quantity == 1:
        return period
    return f"{quantity} x {format_amount(unit_amount, currency)}" + (f", {period}" if period else "")


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def render(document: Document) -> bytes:
    """The document as PDF bytes (A4, one column of lines, amounts right-aligned)."""
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"{document.title} {document.number}"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(width, 10, _latin1(f"{document.title} {document.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    pdf.set_font("Helvetica", "", 10)
    top = pdf.get_y()
    pdf.multi_cell(width / 2, 5, _latin1("From\n" + "\n".join(document.issuer)), new_x="LMARGIN")
    left_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + width / 2, top)
    pdf.multi_cell(width / 2, 5, _latin1("Bill to\n" + "\n".join(document.recipient)))
    pdf.set_y(max(left_bottom, pdf.get_y()) + 4)

    for label, value in document.facts:
        pdf.cell(40, 5, _latin1(label))
        pdf.cell(width - 40, 5, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    def money(amount: int) -> str:
        return format_amount(amount, document.currency)

    def section(heading: str, rows: list[DocumentLine]) -> None:
        if not rows:
            return
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(width - 40, 6, _latin1(heading), border="B")
        pdf.cell(40, 6, "Amount", border="B", align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for row in rows:
            text = row.description + (f" ({row.detail})" if row.detail else "")
            pdf.cell(width - 40, 6, _latin1(text))
            pdf.cell(40, 6, money(row.amount), align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)

    section("Description", document.lines)
    section("Discounts", document.discounts)
    section("Credits", document.credits)

    for index, (label, amount) in enumerate(document.totals):
        pdf.set_font("Helvetica", "B" if index == len(document.totals) - 1 else "", 11)
        pdf.cell(width - 40, 6, _latin1(label), align="R")
        pdf.cell(40, 6, money(amount), align="R", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def pdf_response(content: bytes, filename: str) -> Response:
    """A PDF answer the browser offers to save under `filename`."""
    return Response(content, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
