"""Customer emails, caught by a real SMTP server in the test process (the `mail_catcher` fixture):
receipts, failed payments with the portal link, no receipt for a renewal whose payment failed,
per-template toggles, one email per event even when the event is delivered twice, SMTP retries."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from email.message import EmailMessage

import pytest
from aiokafka import AIOKafkaProducer

from tenure_shared.events import INVOICES
from tenure_tools.mail_catcher import MailCatcher
from tests.support.client import ApiError, TenureClient
from tests.support.emails import emails_of, wait_for_emails

PORTAL_URL = "http://127.0.0.1:8101/portal"  # notification-svc's default TENURE_PORTAL_URL


def _customer(api: TenureClient, clock: str, *, payment_method: str = "pm_test_ok") -> tuple[str, str]:
    email = f"{api.unique('mail')}@example.com"
    customer = api.post(
        "subscription",
        "/v1/customers",
        {"email": email, "name": "Mail Reader", "currency": "USD", "payment_method": payment_method, "test_clock_id": clock},
    )
    return customer["id"], email


def _caught(catcher: MailCatcher, to: str) -> list[EmailMessage]:
    return [m for m in catcher.messages() if m["To"] == to]


def test_a_paid_invoice_sends_a_receipt(api: TenureClient, catalog, mail_catcher: MailCatcher):
    clock = api.create_clock("2026-03-01T00:00:00Z")
    customer, address = _customer(api, clock)
    api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": catalog["pro"]})
    api.wait_ready(clock)
    [invoice] = api.invoices(customer_id=customer)

    [email] = wait_for_emails(api, customer, 1)
    assert (email["to"], email["template"], email["status"]) == (address, "invoice_paid", "sent")
    assert email["subject"] == f"Receipt for invoice {invoice['number']}" and email["sent_at"]
    [message] = _caught(mail_catcher, address)
    assert message["Subject"] == email["subject"] and message["X-Tenure-Event-Id"] == email["event_id"]
    assert "49.00 USD" in message.get_body(("plain",)).get_content()
    assert invoice["number"] in message.get_body(("html",)).get_content()


def test_a_failed_renewal_sends_payment_failed_with_the_portal_link_and_no_receipt(api: TenureClient, catalog, mail_catcher):
    api.put("dunning", "/v1/dunning-policy", {"retry_after_days": [1, 3, 5], "final_action": "move_to_free_plan"})
    clock = api.create_clock("2026-03-01T00:00:00Z")
    customer, address = _customer(api, clock)
    api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": catalog["pro"]})
    api.wait_ready(clock)
    api.patch("subscription", f"/v1/customers/{customer}", {"payment_method": "pm_test_declined"})
    api.advance(clock, "2026-04-06T12:00:00Z")  # the renewal fails, dunning retries three times and gives up

    # The first receipt, a notice for each failure that is retried (the renewal's and two retries'),
    # then the end of dunning for the last one.
    sent = wait_for_emails(api, customer, 5)
    templates = sorted(e["template"] for e in sent)
    assert templates == ["dunning_exhausted", "invoice_paid"] + ["payment_failed"] * 3
    assert len({e["event_id"] for e in sent}) == 5
    failed = next(m for m in _caught(mail_catcher, address) if m["Subject"].startswith("Your payment"))
    assert PORTAL_URL in failed.get_body(("plain",)).get_content()
    assert f'href="{PORTAL_URL}"' in failed.get_body(("html",)).get_content()
    # The renewal was never paid: one receipt only, for the first invoice.
    assert len([m for m in _caught(mail_catcher, address) if m["Subject"].startswith("Receipt")]) == 1


def test_a_dunning_policy_that_does_not_notify_sends_no_dunningemails_of(api: TenureClient, catalog, mail_catcher):
    policy = {"retry_after_days": [1, 3, 5], "final_action": "move_to_free_plan"}
    api.put("dunning", "/v1/dunning-policy", {**policy, "notify_customer": False})
    try:
        clock = api.create_clock("2026-03-01T00:00:00Z")
        customer, address = _customer(api, clock)
        api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": catalog["pro"]})
        api.wait_ready(clock)
        api.patch("subscription", f"/v1/customers/{customer}", {"payment_method": "pm_test_declined"})
        api.advance(clock, "2026-04-06T12:00:00Z")
    finally:
        api.put("dunning", "/v1/dunning-policy", {**policy, "notify_customer": True})
    [case] = api.get("dunning", "/v1/dunning-cases", params={"customer_id": customer})["data"]
    assert case["status"] == "exhausted"
    [receipt] = wait_for_emails(api, customer, 1)
    assert receipt["template"] == "invoice_paid"
    # The clock was ready only once notification-svc had consumed dunning's events too: any email
    # they asked for would be in the log by now, pending or sent.
    assert [e["template"] for e in emails_of(api, customer)] == ["invoice_paid"]
    assert [m["Subject"] for m in _caught(mail_catcher, address)] == [receipt["subject"]]


def test_a_template_switched_off_is_logged_as_suppressed(api: TenureClient, catalog, mail_catcher):
    before = api.get("notification", "/v1/email-settings")["templates"]
    assert before["invoice_paid"] is True and set(before) >= {"payment_failed", "quote_sent"}
    with pytest.raises(ApiError) as refused:
        api.patch("notification", "/v1/email-settings", {"templates": {"no_such_template": False}})
    assert refused.value.response.json()["code"] == "unknown_email_template"

    api.patch("notification", "/v1/email-settings", {"templates": {"invoice_paid": False}})
    try:
        clock = api.create_clock("2026-03-01T00:00:00Z")
        customer, address = _customer(api, clock)
        api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": catalog["pro"]})
        api.wait_ready(clock)
        [email] = wait_for_emails(api, customer, 1, template="invoice_paid")
        assert email["status"] == "suppressed" and email["sent_at"] is None
    finally:
        api.patch("notification", "/v1/email-settings", {"templates": {"invoice_paid": True}})
    assert not _caught(mail_catcher, address)


async def _produce(bootstrap: str, topic: str, key: str, *envelopes: dict) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(topic, key=key.encode(), value=json.dumps(envelope).encode())
    finally:
        await producer.stop()


def test_an_event_delivered_twice_sends_one_email(api: TenureClient, stack, catalog, mail_catcher):
    clock = api.create_clock("2026-03-01T00:00:00Z")
    customer, address = _customer(api, clock)
    api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": catalog["pro"]})
    api.wait_ready(clock)
    [receipt] = wait_for_emails(api, customer, 1)
    [invoice] = api.invoices(customer_id=customer)

    def paid(event_id: str, number: str) -> dict:
        data = {k: invoice[k] for k in ("id", "customer_id", "subscription_id", "status", "currency", "total", "amount_due")}
        return {
            "specversion": "1.0",
            "id": event_id,
            "type": "invoice.paid",
            "source": "invoicing",
            "subject": customer,
            "time": "2026-03-01T00:00:00Z",
            "data": {**data, "number": number, "amount_paid": invoice["amount_paid"]},
        }

    # The same event again, then a new one behind it on the same partition (same key): once the
    # new one's email is there, the repeat has been consumed too.
    marker = f"evt_marker_{uuid.uuid4().hex[:8]}"
    again, behind = paid(receipt["event_id"], invoice["number"]), paid(marker, "INV-MARKER")
    asyncio.run(_produce(stack.kafka_bootstrap, INVOICES, customer, again, behind))
    wait_for_emails(api, customer, 1, timeout=60, event_id=marker)

    assert [e["id"] for e in emails_of(api, customer, event_id=receipt["event_id"])] == [receipt["id"]]
    receipts = [m for m in _caught(mail_catcher, address) if m["X-Tenure-Event-Id"] == receipt["event_id"]]
    assert len(receipts) == 1


def test_an_smtp_server_that_is_away_is_tried_again(api: TenureClient, catalog, mail_catcher: MailCatcher):
    clock = api.create_clock("2026-03-01T00:00:00Z")
    customer, address = _customer(api, clock)
    mail_catcher.stop()
    try:
        api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": catalog["pro"]})
        api.wait_ready(clock)
        deadline = time.monotonic() + 60
        while not (tried := [e for e in emails_of(api, customer) if e["attempts"] >= 1]):
            assert time.monotonic() < deadline, "the email was never tried"
            time.sleep(0.1)
        assert tried[0]["status"] == "pending" and tried[0]["last_error"]
    finally:
        mail_catcher.start()
    [email] = wait_for_emails(api, customer, 1, timeout=60)
    assert email["status"] == "sent" and email["attempts"] >= 2 and email["last_error"]
    assert len(_caught(mail_catcher, address)) == 1
