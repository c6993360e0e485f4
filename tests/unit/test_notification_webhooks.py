"""Webhook targets, signatures and the public event catalog (pure parts of notification-svc)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from tenure_notification.event_catalog import PUBLIC_EVENT_TYPES, TEST_EVENT_TYPE, public_data, subscribed
from tenure_notification.signing import new_secret, signed_headers
from tenure_notification.webhook_targets import address_problem, url_problem
from tenure_shared.events import ALL_TOPICS, SUBSCRIPTION_EVENT_TYPES, public_schema


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "0.0.0.0", "::1", "fc00::1", "fe80::1"],
)
def test_private_loopback_and_link_local_addresses_are_refused(address):
    assert address_problem([address], allow_private=False)
    assert address_problem([address], allow_private=True) is None


def test_a_public_address_passes_unless_any_other_resolved_one_is_private():
    assert address_problem(["93.184.215.14"], allow_private=False) is None
    assert address_problem(["93.184.215.14", "10.0.0.1"], allow_private=False)
    assert address_problem([], allow_private=True)  # does not resolve


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "https://user:pw@example.com/", "example.com/hook"]
)
def test_only_plain_http_and_https_urls(url):
    assert url_problem(url)


def test_signatures_verify_with_the_library_and_rotation_sends_both():
    old, new = new_secret(), new_secret()
    assert old.startswith("whsec_") and old != new
    body = '{"id":"evt_1","type":"invoice.paid"}'
    now = datetime.now(UTC)
    headers = signed_headers(message_id="evt_1", timestamp=now, body=body, signing_secrets=[new, old])
    assert headers["webhook-id"] == "evt_1" and headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        assert Webhook(secret).verify(body, headers) == {"id": "evt_1", "type": "invoice.paid"}
    single = signed_headers(message_id="evt_1", timestamp=now, body=body, signing_secrets=[new])
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(old).verify(body, single)


def test_only_public_types_are_subscribed_to():
    assert subscribed(["*"], "invoice.paid")
    assert subscribed(["invoice.paid"], "invoice.paid")
    assert not subscribed(["invoice.paid"], "invoice.voided")
    assert not subscribed(["*"], "metric.created")
    assert not any(subscribed(["*"], topic) for topic in ALL_TOPICS)
    assert set(SUBSCRIPTION_EVENT_TYPES) <= set(PUBLIC_EVENT_TYPES)
    assert TEST_EVENT_TYPE in PUBLIC_EVENT_TYPES


def test_instructions_to_other_services_never_leave_tenure():
    data = {"id": "sub_1", "status": "active", "bill_lines": [{"amount": 1}], "credit_requests": [], "redeem_credits": True}
    assert public_data("subscription.renewed", data) == {"id": "sub_1", "status": "active"}
    schema = public_schema(PUBLIC_EVENT_TYPES["subscription.renewed"])
    assert {"bill_lines", "credit_requests", "redeem_credits"}.isdisjoint(schema["properties"])
    assert {"ChargeLine", "CreditRequest", "PauseWindow"}.isdisjoint(schema.get("$defs", {}))
    assert "MeteredChargeData" in schema["$defs"]  # still used by metered_charges
    invoice = {"id": "inv_1", "amount_paid": 4900}
    assert public_data("invoice.paid", invoice) == invoice
