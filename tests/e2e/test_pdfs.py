"""Invoice and credit-note PDFs: the document carries its number and totals, and a portal session
reaches its own customer's documents only. (Render time is a benchmark figure: `make bench`, f.invoice_pdf_render.)"""

from __future__ import annotations

import io

import httpx
import pytest
from pypdf import PdfReader

from tenure_shared.money import format_amount
from tenure_shared.pdf import Document, DocumentLine, render
from tests.e2e.test_portal_sessions import open_session
from tests.support.client import TenureClient
from tests.support.credits import manual_note, plan, subscribe


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture(scope="module")
def documents(api: TenureClient) -> dict:
    clock = api.create_clock("2026-06-01T00:00:00Z")
    plan_code = plan(api, "pdf-plan", 4900)
    mine, _ = subscribe(api, clock, plan_code)
    theirs, _ = subscribe(api, clock, plan_code)
    return {
        "invoice": api.invoices(customer_id=mine)[0],
        "credit_note": manual_note(api, mine, 1250),
        "their_invoice": api.invoices(customer_id=theirs)[0],
        "their_credit_note": manual_note(api, theirs, 700),
        "session": open_session(api, mine),
    }


def fetch_pdf(api: TenureClient, service: str, path: str) -> bytes:
    answer = api.request(service, "GET", path, expect=200)
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    return answer.content


def test_an_invoice_pdf_shows_its_number_lines_and_total(api: TenureClient, documents):
    invoice = documents["invoice"]
    content = fetch_pdf(api, "invoicing", f"/v1/invoices/{invoice['id']}/pdf")
    text = pdf_text(content)
    assert invoice["number"] in text and invoice["customer_id"] in text
    assert format_amount(invoice["total"], invoice["currency"]) in text
    assert invoice["lines"][0]["description"] in text


def test_a_credit_note_pdf_shows_its_number_and_amount(api: TenureClient, documents):
    note = documents["credit_note"]
    content = fetch_pdf(api, "credit", f"/v1/credit-notes/{note['id']}/pdf")
    text = pdf_text(content)
    assert note["number"] in text and note["customer_id"] in text
    assert format_amount(1250, "USD") in text


def test_a_portal_session_fetches_its_own_pdfs_only(api: TenureClient, documents):
    headers = {"Authorization": f"Bearer {documents['session']}"}
    routes = [
        ("invoicing", "/v1/invoices/{}/pdf", "invoice", "invoice_not_found"),
        ("credit", "/v1/credit-notes/{}/pdf", "credit_note", "credit_note_not_found"),
    ]
    for service, path, kind, code in routes:
        own = httpx.get(api.urls[service] + path.format(documents[kind]["id"]), headers=headers)
        assert own.status_code == 200 and own.content.startswith(b"%PDF-")
        other = httpx.get(api.urls[service] + path.format(documents[f"their_{kind}"]["id"]), headers=headers)
        assert other.status_code == 404 and other.json()["code"] == code


def test_an_unknown_document_has_no_pdf(api: TenureClient):
    assert api.request("invoicing", "GET", "/v1/invoices/in_nope/pdf").json()["code"] == "invoice_not_found"
    assert api.request("credit", "GET", "/v1/credit-notes/cn_nope/pdf").json()["code"] == "credit_note_not_found"


def test_a_long_document_carries_every_line_and_its_totals():
    document = Document(
        title="Invoice",
        number="INV-000123",
        currency="USD",
        issuer=["Tenure"],
        recipient=["Customer cus_123", "Subscription sub_123"],
        facts=[("Issued", "2026-06-01"), ("Period", "2026-06-01 to 2026-07-01"), ("Status", "paid")],
        lines=[DocumentLine(f"Seat {n}", 4900, "2026-06-01 to 2026-07-01") for n in range(20)],
        discounts=[DocumentLine("Coupon SPRING (10%)", -9800)],
        credits=[DocumentLine("Credit note CN-000007", -1250)],
        totals=[("Subtotal", 88200), ("Total", 86950), ("Amount due", 86950)],
    )
    text = pdf_text(render(document))
    assert all(f"Seat {n}" in text for n in range(20))
    assert "INV-000123" in text and "869.50 USD" in text and "-98.00 USD" in text
