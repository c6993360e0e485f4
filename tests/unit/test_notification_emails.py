"""Email templates: which event sends which, and every template renders in text and HTML."""

from __future__ import annotations

import pytest

from tenure_notification.email_templates import EMAIL_TRIGGERS, TEMPLATES, render, wanted

DATA = {
    "id": "x_1",
    "number": "INV-000042",
    "amount": 4900,
    "amount_due": 4900,
    "next_retry_at": "2026-04-04T00:00:00Z",
    "amount_paid": 4900,
    "currency": "USD",
    "attempt_count": 4,
    "plan_code": "pro",
    "plan_amount": 4900,
    "current_period_end": "2026-04-01T00:00:00Z",
}


def test_the_contract_templates():
    assert set(TEMPLATES) == {
        "invoice_paid",
        "payment_failed",
        "dunning_exhausted",
        "trial_will_end",
        "renewal_upcoming",
        "subscription_paused",
        "subscription_resumed",
        "credit_note_issued",
        "quote_sent",
    }


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_text_and_html(template):
    email = render(template, customer_name="Ada <Lovelace>", data=DATA, portal_url="https://portal.example/p")
    assert email.subject and "\n" not in email.subject
    assert "Ada <Lovelace>" in email.text
    assert "Ada &lt;Lovelace&gt;" in email.html and "<Lovelace>" not in email.html  # HTML is escaped


def test_payment_failed_links_to_the_portal_and_shows_money_in_major_units():
    email = render("payment_failed", customer_name="Ada", data=DATA, portal_url="https://portal.example/p")
    assert "https://portal.example/p" in email.text and 'href="https://portal.example/p"' in email.html
    assert "49.00 USD" in email.subject and "2026-04-04" in email.text


def test_which_events_send_an_email():
    assert wanted("invoice.paid", DATA) == "invoice_paid"
    assert wanted("invoice.paid", {**DATA, "amount_paid": 0}) is None  # a free invoice gets no receipt
    assert wanted("dunning.retry_scheduled", DATA) == "payment_failed"
    assert wanted("payment.failed", DATA) is None  # told by dunning, which knows the policy's notify_customer
    assert wanted("dunning.retry_scheduled", {**DATA, "notify_customer": False}) is None
    assert wanted("dunning.exhausted", {**DATA, "notify_customer": False}) is None
    assert wanted("dunning.exhausted", {**DATA, "notify_customer": True}) == "dunning_exhausted"
    assert wanted("subscription.renewed", DATA) is None  # a renewal is told by its paid invoice, never by itself
    assert wanted("invoice.created", DATA) is None
    assert set(EMAIL_TRIGGERS.values()) == set(TEMPLATES)
