"""Scenario 13 of retention-examples.md: a webhook that fails once.

An endpoint subscribed to invoice.paid answers the first delivery with 500. About 5 s later the
same event (same webhook-id) is delivered again and answered 200; its signature verifies with the
standardwebhooks library and the endpoint's whsec_ secret; the delivery log shows 500 then 200.
"""

from __future__ import annotations

from datetime import datetime

from standardwebhooks import Webhook

from tests.support.client import TenureClient
from tests.support.lifecycle import customer
from tests.support.webhook_receiver import WebhookReceiver, deliveries, webhook_endpoint


def test_a_webhook_that_fails_once_is_delivered_again_5_s_later(api: TenureClient, catalog, receiver: WebhookReceiver):
    receiver.answer(500)
    with webhook_endpoint(api, receiver, ["invoice.paid"]) as endpoint:
        assert endpoint["secret"].startswith("whsec_") and endpoint["status"] == "enabled"
        clock = api.create_clock("2026-03-01T00:00:00Z")
        cus = customer(api, clock)
        api.post("subscription", "/v1/subscriptions", {"customer_id": cus, "plan_code": catalog["pro"]})
        api.wait_ready(clock)
        [invoice] = api.invoices(customer_id=cus)

        first, second = receiver.wait_for(2, subject=cus)
        assert first.headers["webhook-id"] == second.headers["webhook-id"] == first.envelope["id"]
        assert first.body == second.body
        paid = Webhook(endpoint["secret"]).verify(second.body, second.headers)
        assert (paid["type"], paid["subject"], paid["data"]["id"], paid["data"]["status"]) == (
            "invoice.paid",
            cus,
            invoice["id"],
            "paid",
        )

        [delivery] = deliveries(api, endpoint["id"], event_id=paid["id"])
        assert delivery["status"] == "succeeded"
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
        failed_at, succeeded_at = (datetime.fromisoformat(a["attempted_at"]) for a in delivery["attempts"])
        assert (succeeded_at - failed_at).total_seconds() >= 5  # the schedule's first retry
        assert second.at - first.at >= 5
        # Nothing else was delivered for this customer: the endpoint wants invoice.paid only.
        assert len(receiver.of(subject=cus)) == 2
