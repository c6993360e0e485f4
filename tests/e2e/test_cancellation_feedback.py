"""Why a customer cancels (cancellation_details) and the retention offer made before they do: the
account's retention coupon, once per subscription, from the next period on."""

from __future__ import annotations

from tests.support.client import TenureClient
from tests.support.discounts import coupon, discount_lines
from tests.support.lifecycle import account_settings, plan, subscribed, subscription
from tests.support.webhook_receiver import WebhookReceiver, webhook_endpoint


def refusal(response) -> tuple[int, str]:
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.status_code, response.json()["code"]


def test_the_reason_for_cancelling_is_kept_until_a_reactivation(api: TenureClient):
    _, sub = subscribed(api, plan(api, "Basic", 10000, interval="month"))
    details = {"feedback": "too_expensive", "comment": "Half the price and I stay."}
    cancelled = api.post(
        "subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"when": "end_of_term", "cancellation_details": details}
    )
    assert cancelled["cancellation_details"] == details
    assert subscription(api, sub["id"])["cancellation_details"] == details
    back = api.post("subscription", f"/v1/subscriptions/{sub['id']}/reactivate")
    assert back["cancellation_details"] is None and back["cancel_at_period_end"] is False

    wrong = api.request(
        "subscription", "POST", f"/v1/subscriptions/{sub['id']}/cancel", json={"cancellation_details": {"feedback": "bored"}}
    )
    assert refusal(wrong) == (422, "validation_error")
    assert subscription(api, sub["id"])["cancel_at_period_end"] is False


def test_the_retention_offer_is_made_once_and_discounts_the_next_period(api: TenureClient):
    basic = plan(api, "Basic", 10000, interval="month")
    clock, sub = subscribed(api, basic)
    offer_path = f"/v1/subscriptions/{sub['id']}/retention-offer"
    with account_settings(api, retention_coupon_code=None):
        assert refusal(api.request("subscription", "GET", offer_path)) == (404, "no_retention_offer")

    stay = coupon(api, "Stay", percent_off=20, duration="repeating", duration_in_periods=3)
    unknown = api.request("subscription", "PATCH", "/v1/settings", json={"retention_coupon_code": "NO-SUCH-COUPON"})
    assert refusal(unknown) == (404, "coupon_not_found")
    with account_settings(api, retention_coupon_code=stay):
        offer = api.get("subscription", offer_path)
        assert offer == {
            "coupon_code": stay,
            "name": "Stay",
            "percent_off": 20.0,
            "amount_off": None,
            "currency": None,
            "duration": "repeating",
            "duration_in_periods": 3,
        }
        kept = api.post("subscription", offer_path + "/accept")
        assert [d["coupon_code"] for d in kept["discounts"]] == [stay]
        assert refusal(api.request("subscription", "GET", offer_path)) == (404, "no_retention_offer")  # once
        assert refusal(api.request("subscription", "POST", offer_path + "/accept")) == (404, "no_retention_offer")

        api.advance(clock, "2026-07-01T00:00:00Z")
        renewal = api.invoices(subscription_id=sub["id"])[-1]
        assert (discount_lines(renewal), renewal["total"]) == ([-2000], 8000)

        _, leaving = subscribed(api, basic)
        api.post("subscription", f"/v1/subscriptions/{leaving['id']}/cancel", {"when": "end_of_term"})
        refused = api.request("subscription", "GET", f"/v1/subscriptions/{leaving['id']}/retention-offer")
        assert refusal(refused) == (404, "no_retention_offer")  # nothing running to keep


def test_the_reason_reaches_webhook_consumers_with_the_cancellation(api: TenureClient, receiver: WebhookReceiver):
    with webhook_endpoint(api, receiver, ["subscription.cancellation_scheduled"]):
        _, sub = subscribed(api, plan(api, "Basic", 10000, interval="month"))
        details = {"feedback": "switched_service", "comment": None}
        api.post("subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"cancellation_details": details})
        [delivery] = receiver.wait_for(1, subject=sub["customer_id"], event_type="subscription.cancellation_scheduled")
        assert delivery.envelope["data"]["cancellation_details"] == details
