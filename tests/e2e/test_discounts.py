"""Discounts end to end: how many periods they cover, fixed amounts within a period, credits after
discounts, removal, voided invoices giving periods back, and every refusal changing nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.client import TenureClient
from tests.support.credits import credit_notes, plan, redeem_credits, refusal
from tests.support.discounts import coupon, customer_on, discount_lines, subscribe_with


def test_repeating_covers_exactly_n_periods_then_ends(api: TenureClient):
    code = coupon(api, "TWICE", percent_off=12.5, duration="repeating", duration_in_periods=2)
    basic = plan(api, "basic", 9999)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe_with(api, clock, basic, coupon_code=code)
    assert subscription["discounts"][0]["periods_remaining"] == 1  # the first period is covered at once
    api.advance(clock, "2026-08-01T00:00:00Z")
    june, july, august = api.invoices(customer_id=customer)
    # 12.5% of 99.99 = 12.49875 -> 12.50, rounded half-up once.
    assert [discount_lines(i) for i in (june, july, august)] == [[-1250], [-1250], []]
    assert [i["total"] for i in (june, july, august)] == [8749, 8749, 9999]
    after = api.get("subscription", f"/v1/subscriptions/{subscription['id']}")
    assert after["discounts"] == []
    types = api.timeline_types(subscription["id"])
    assert types.count("discount_ended") == 1
    assert types.index("discount_ended") == types.index("renewed", types.index("renewed") + 1) - 1  # ends at the 08-01 renewal
    assert api.get("subscription", f"/v1/coupons/{code}")["times_redeemed"] == 1


def test_fixed_once_with_a_mid_period_upgrade_uses_what_is_left_of_the_period(api: TenureClient):
    code = coupon(api, "WELCOME150", amount_off=15000, currency="USD", duration="once")
    basic, pro = plan(api, "basic", 10000), plan(api, "pro", 30000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe_with(api, clock, basic, coupon_code=code)
    api.advance(clock, "2026-06-16T00:00:00Z")
    path = f"/v1/subscriptions/{subscription['id']}/changes"
    preview = api.post("subscription", f"{path}/preview", {"plan_code": pro, "when": "now"})
    assert [line["amount"] for line in preview["invoice_now_discounts"]] == [-5000]
    changed = api.post("subscription", path, {"plan_code": pro, "when": "now"})
    assert (changed["proration"]["net"], changed["invoice_now_discounts"]) == (10000, preview["invoice_now_discounts"])
    api.wait_ready(clock)
    api.advance(clock, "2026-07-01T00:00:00Z")
    first, upgrade, renewal = api.invoices(customer_id=customer)
    assert (discount_lines(first), first["total"], first["status"]) == ([-10000], 0, "paid")  # at most the eligible sum
    assert (discount_lines(upgrade), upgrade["total"], upgrade["status"]) == ([-5000], 5000, "paid")  # the 50.00 left in June
    assert (discount_lines(renewal), renewal["total"]) == ([], 30000)  # once: June only, nothing carried


def test_fixed_forever_with_a_pause_credits_the_discounted_cost(api: TenureClient):
    with redeem_credits(api, True):
        code = coupon(api, "FIFTYOFF", amount_off=5000, currency="USD", duration="forever")
        support = plan(api, "support", 30000)
        clock = api.create_clock("2026-06-01T00:00:00Z")
        customer, subscription = subscribe_with(api, clock, support, coupon_code=code)
        api.advance(clock, "2026-06-10T00:00:00Z")
        paused = api.post("subscription", f"/v1/subscriptions/{subscription['id']}/pause", {"resume_at": "2026-06-15T00:00:00Z"})
        # 5/30 of the 250.00 June cost = 41.666… -> 41.67 (the list price would give 50.00).
        assert paused["credit_preview"]["amount"] == 4167
        api.advance(clock, "2026-07-01T00:00:00Z")
        [note] = credit_notes(api, customer_id=customer)
        assert note["amount"] == 4167
        june, july = api.invoices(customer_id=customer)
        assert (june["total"], discount_lines(july), july["total"], july["amount_due"]) == (25000, [-5000], 25000, 20833)


def test_removing_a_discount_stops_it_and_a_voided_invoice_gives_its_period_back(api: TenureClient):
    once = coupon(api, "ONCE20", percent_off=20, duration="once")
    forever = coupon(api, "ALWAYS10", percent_off=10, duration="forever")
    support = plan(api, "support", 30000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe_with(api, clock, support)
    sub_id = subscription["id"]
    with_once = api.post("subscription", f"/v1/subscriptions/{sub_id}/discounts", {"coupon_code": once})
    assert with_once["discounts"][0]["starts_at"] == "2026-07-01T00:00:00Z"  # applied mid-term: from the next period
    with_both = api.post("subscription", f"/v1/subscriptions/{sub_id}/discounts", {"coupon_code": forever})
    removable = next(d["id"] for d in with_both["discounts"] if d["coupon_code"] == forever)
    removed = api.request("subscription", "DELETE", f"/v1/subscriptions/{sub_id}/discounts/{removable}", expect=200).json()
    assert [d["coupon_code"] for d in removed["discounts"]] == [once]

    api.patch("subscription", f"/v1/customers/{customer}", {"payment_method": "pm_test_declined"})
    api.advance(clock, "2026-07-01T00:00:00Z")
    june, july = api.invoices(customer_id=customer)
    assert (discount_lines(june), discount_lines(july), july["status"]) == ([], [-6000], "open")
    api.post("invoicing", f"/v1/invoices/{july['id']}/void")
    api.patch("subscription", f"/v1/customers/{customer}", {"payment_method": "pm_test_ok"})
    api.wait_ready(clock)
    assert api.get("subscription", f"/v1/subscriptions/{sub_id}")["discounts"][0]["periods_remaining"] == 1
    api.advance(clock, "2026-08-01T00:00:00Z")
    august = api.invoices(customer_id=customer)[-1]
    assert (august["period_start"], discount_lines(august), august["total"]) == ("2026-08-01T00:00:00Z", [-6000], 24000)
    types = api.timeline_types(sub_id)
    assert types.count("discount_applied") == 2 and types.count("discount_ended") == 1


def _refusals(api: TenureClient):
    """(name, coupon or promotion code field, code, expected refusal code and status) for every refusal."""
    support = plan(api, "support", 30000)
    other = plan(api, "other", 1000)
    archived = coupon(api, "ARCHIVED", percent_off=10, duration="forever")
    api.post("subscription", f"/v1/coupons/{archived}/archive")
    clock = api.create_clock("2026-06-01T00:00:00Z")
    stranger = customer_on(api, clock)
    spent = coupon(api, "SPENT", percent_off=10, duration="forever", max_redemptions=1)
    subscribe_with(api, clock, support, coupon_code=spent)
    promo_coupon = coupon(api, "PROMO", percent_off=10, duration="forever")
    promotion = api.unique("PROMO-STRANGER").upper()
    api.post("subscription", "/v1/promotion-codes", {"code": promotion, "coupon_code": promo_coupon, "customer_id": stranger})
    minimum = api.unique("PROMO-MIN").upper()
    api.post("subscription", "/v1/promotion-codes", {"code": minimum, "coupon_code": promo_coupon, "minimum_amount": 50000})
    cases = [
        ("coupon_code", "NO-SUCH-COUPON", "coupon_not_found", 404),
        ("promotion_code", "NO-SUCH-PROMO", "coupon_not_found", 404),
        (
            "coupon_code",
            coupon(api, "OLD", percent_off=10, duration="once", redeem_by="2026-05-01T00:00:00Z"),
            "coupon_expired",
            409,
        ),
        ("coupon_code", archived, "coupon_archived", 409),
        ("coupon_code", spent, "coupon_max_redeemed", 409),
        ("coupon_code", coupon(api, "EUR", amount_off=500, currency="EUR", duration="once"), "coupon_not_applicable", 422),
        (
            "coupon_code",
            coupon(api, "OTHER", percent_off=10, duration="once", applies_to={"plan_codes": [other]}),
            "coupon_not_applicable",
            422,
        ),
        ("promotion_code", promotion, "promotion_code_not_eligible", 422),
        ("promotion_code", minimum, "promotion_code_not_eligible", 422),
    ]
    return support, clock, cases


def test_every_refusal_at_creation_and_by_route_changes_nothing(api: TenureClient):
    support, clock, cases = _refusals(api)
    for field, value, code, status in cases:
        customer = customer_on(api, clock)
        body = {"customer_id": customer, "plan_code": support, field: value}
        assert (refusal(api, "subscription", "/v1/subscriptions", body, status), field, value) == (code, field, value)
        assert api.get("subscription", "/v1/subscriptions", params={"customer_id": customer})["data"] == []

    _, running = subscribe_with(api, clock, support)
    before = api.get("subscription", f"/v1/subscriptions/{running['id']}/timeline")["data"]
    for field, value, code, status in cases:
        assert refusal(api, "subscription", f"/v1/subscriptions/{running['id']}/discounts", {field: value}, status) == code
    taken = coupon(api, "TAKEN", percent_off=10, duration="forever")
    api.post("subscription", f"/v1/subscriptions/{running['id']}/discounts", {"coupon_code": taken})
    after_one = api.get("subscription", f"/v1/subscriptions/{running['id']}")
    path = f"/v1/subscriptions/{running['id']}/discounts"
    assert refusal(api, "subscription", path, {"coupon_code": taken}, 409) == "discount_already_applied"
    assert api.get("subscription", f"/v1/subscriptions/{running['id']}") == after_one
    timeline = api.get("subscription", f"/v1/subscriptions/{running['id']}/timeline")["data"]
    assert [e["type"] for e in timeline] == [e["type"] for e in before] + ["discount_applied"]
    assert api.get("subscription", f"/v1/coupons/{taken}")["times_redeemed"] == 1


@pytest.mark.parametrize(
    "body, code",
    [
        ({"percent_off": 0, "duration": "once"}, "validation_error"),
        ({"percent_off": 20, "amount_off": 100, "currency": "USD", "duration": "once"}, "invalid_coupon"),
        ({"amount_off": 100, "duration": "once"}, "invalid_coupon"),
        ({"percent_off": 20, "duration": "repeating"}, "invalid_coupon"),
        ({"percent_off": 12.345, "duration": "once"}, "validation_error"),
        ({"percent_off": 100.5, "duration": "once"}, "validation_error"),
    ],
)
def test_bad_coupons_are_refused(api: TenureClient, body: dict, code: str):
    response = api.request(
        "subscription", "POST", "/v1/coupons", json={"code": api.unique("BAD"), "name": "Bad", **body}, expect=422
    )
    assert response.json()["code"] == code


def test_a_downgrade_credits_the_discounted_unused_days(api: TenureClient):
    code = coupon(api, "LOYAL20", percent_off=20, duration="forever")
    pro, basic = plan(api, "pro", 30000), plan(api, "basic", 10000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe_with(api, clock, pro, coupon_code=code)
    api.advance(clock, "2026-06-16T00:00:00Z")
    changed = api.post("subscription", f"/v1/subscriptions/{subscription['id']}/changes", {"plan_code": basic, "when": "now"})
    # 15/30 unused: 150.00 of pro at list, 120.00 of what June cost; the 50.00 basic charge less 20%.
    assert changed["credit_note_amount"] == 12000
    api.wait_ready(clock)
    _, downgrade = api.invoices(customer_id=customer)
    assert (discount_lines(downgrade), downgrade["total"]) == ([-1000], 4000)
    [note] = credit_notes(api, customer_id=customer)
    assert (note["amount"], note["reason"]) == (12000, "downgrade_proration")


def test_a_win_back_coupon_at_reactivation_covers_the_new_period(api: TenureClient):
    code = coupon(api, "WINBACK", percent_off=50, duration="once")
    support = plan(api, "support", 30000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe_with(api, clock, support)
    sub_id = subscription["id"]
    api.post("subscription", f"/v1/subscriptions/{sub_id}/cancel", {"when": "end_of_term"})
    api.advance(clock, "2026-07-10T00:00:00Z")
    back = api.post("subscription", f"/v1/subscriptions/{sub_id}/reactivate", {"coupon_code": code})
    assert (back["status"], back["current_period_start"]) == ("active", "2026-07-10T00:00:00Z")
    assert [d["coupon_code"] for d in back["discounts"]] == [code]
    api.wait_ready(clock)
    api.advance(clock, "2026-08-10T00:00:00Z")
    _, win_back, renewal = api.invoices(customer_id=customer)
    assert (discount_lines(win_back), win_back["total"]) == ([-15000], 15000)
    assert (discount_lines(renewal), renewal["total"]) == ([], 30000)


def test_promotion_codes_redeem_their_coupon_within_their_restrictions(api: TenureClient):
    code = coupon(api, "SPRING", amount_off=2000, currency="USD", duration="once", max_redemptions=5)
    support = plan(api, "support", 30000)
    clock = api.create_clock("2026-03-01T00:00:00Z")
    first_time = api.unique("NEWHERE").upper()
    body = {"code": first_time, "coupon_code": code, "first_time_only": True, "max_redemptions": 1, "minimum_amount": 30000}
    created = api.post("subscription", "/v1/promotion-codes", body)
    assert (created["times_redeemed"], created["first_time_only"]) == (0, True)

    customer, subscription = subscribe_with(api, clock, support, promotion_code=first_time)
    [discount] = subscription["discounts"]
    assert (discount["coupon_code"], discount["amount_off"], discount["currency"]) == (code, 2000, "USD")
    [invoice] = api.invoices(customer_id=customer)
    assert (discount_lines(invoice), invoice["total"]) == ([-2000], 28000)

    # A second subscription of the same customer is no first time; the code is spent anyway.
    again = {"customer_id": customer, "plan_code": support, "promotion_code": first_time}
    assert refusal(api, "subscription", "/v1/subscriptions", again, 422) == "promotion_code_not_eligible"
    listed = api.get("subscription", "/v1/promotion-codes", params={"coupon_code": code})["data"]
    assert [(p["code"], p["times_redeemed"]) for p in listed] == [(first_time, 1)]
    assert api.get("subscription", f"/v1/coupons/{code}")["times_redeemed"] == 1
    # The coupon archived: the running discount is untouched, new redemptions are refused.
    api.post("subscription", f"/v1/coupons/{code}/archive")
    assert api.get("subscription", f"/v1/subscriptions/{subscription['id']}")["discounts"] == [discount]
    other = {"customer_id": customer_on(api, clock), "plan_code": support, "coupon_code": code}
    assert refusal(api, "subscription", "/v1/subscriptions", other, 409) == "coupon_archived"


def test_a_coupon_given_in_a_trial_covers_the_first_paid_period(api: TenureClient):
    code = coupon(api, "TRIAL50", percent_off=50, duration="once")
    trial_plan = api.unique("pro-trial")
    api.post(
        "subscription",
        "/v1/plans",
        {"code": trial_plan, "name": "Pro", "currency": "USD", "amount": 4900, "interval": "month", "trial_days": 14},
    )
    clock = api.create_clock("2026-03-01T00:00:00Z")
    customer, subscription = subscribe_with(api, clock, trial_plan, coupon_code=code)
    assert subscription["status"] == "trialing"
    api.advance(clock, "2026-04-16T00:00:00Z")
    first, second = api.invoices(customer_id=customer)
    assert (first["period_start"], discount_lines(first), first["total"]) == ("2026-03-15T00:00:00Z", [-2450], 2450)
    assert (discount_lines(second), second["total"]) == ([], 4900)


def test_a_coupon_on_a_change_covers_the_period_it_bills_in(api: TenureClient):
    now_code = coupon(api, "UPNOW", percent_off=10, duration="once")
    later_code = coupon(api, "UPLATER", percent_off=25, duration="once")
    basic, pro, team = plan(api, "basic", 10000), plan(api, "pro", 30000), plan(api, "team", 50000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe_with(api, clock, basic)
    path = f"/v1/subscriptions/{subscription['id']}/changes"
    api.advance(clock, "2026-06-16T00:00:00Z")
    api.post("subscription", path, {"plan_code": pro, "when": "now", "coupon_code": now_code})
    api.post("subscription", path, {"plan_code": team, "when": "end_of_term", "coupon_code": later_code})
    api.wait_ready(clock)
    api.advance(clock, "2026-07-01T00:00:00Z")
    first, upgrade, renewal = api.invoices(customer_id=customer)
    assert discount_lines(first) == []
    assert (discount_lines(upgrade), upgrade["total"]) == ([-1000], 9000)  # 10% of the 100.00 net
    assert (discount_lines(renewal), renewal["total"]) == ([-12500], 37500)  # team, 25% off from July


def test_a_cancellation_credits_the_discounted_unused_days(api: TenureClient):
    code = coupon(api, "LOYAL20", percent_off=20, duration="forever")
    support = plan(api, "support", 30000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe_with(api, clock, support, coupon_code=code)
    api.advance(clock, "2026-06-16T00:00:00Z")
    api.post("subscription", f"/v1/subscriptions/{subscription['id']}/cancel", {"when": "now", "unused_amount": "credit"})
    api.wait_ready(clock)
    [note] = credit_notes(api, customer_id=customer)
    assert (note["amount"], note["reason"]) == (12000, "cancellation_unused_period")  # 15/30 of 240.00, not of 300.00


def test_mrr_after_discounts_is_what_the_invoices_charge(api: TenureClient):
    # Fixed before percent, and a discount applied mid-term counts from the period it covers: the
    # health service's MRR is subscription-svc's own figure, not a second rule of its own.
    fixed = coupon(api, "TENOFF", amount_off=1000, currency="USD", duration="forever")
    percent = coupon(api, "TENPCT", percent_off=10, duration="forever")
    basic = plan(api, "basic", 10000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe_with(api, clock, basic, coupon_code=fixed)
    api.post("subscription", f"/v1/subscriptions/{subscription['id']}/discounts", {"coupon_code": percent})
    api.advance(clock, "2026-07-15T00:00:00Z")
    june, july = api.invoices(customer_id=customer)
    assert (june["total"], july["total"]) == (9000, 8100)  # 100.00 - 10.00; then (100.00 - 10.00) less 10%
    series = api.get(
        "health-score",
        "/v1/reports/mrr",
        params={"test_clock_id": clock, "from": "2026-06-15T00:00:00Z", "to": "2026-07-15T00:00:00Z", "interval": "month"},
    )
    assert [point["mrr"] for point in series["data"]] == [9000, 8100]


def test_concurrent_redemptions_never_exceed_max_redemptions(api: TenureClient):
    # Twelve subscriptions race for three redemptions: the coupon row is locked while one is
    # counted, so exactly three win and the others are refused with nothing half-made.
    code = coupon(api, "RACE3", percent_off=10, duration="forever", max_redemptions=3)
    basic = plan(api, "basic", 5000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customers = [customer_on(api, clock) for _ in range(12)]

    def subscribe(customer: str) -> httpx.Response:
        body = {"customer_id": customer, "plan_code": basic, "coupon_code": code}
        return api.request("subscription", "POST", "/v1/subscriptions", json=body)

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(subscribe, customers))
    assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 9
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"coupon_max_redeemed"}
    assert api.get("subscription", f"/v1/coupons/{code}")["times_redeemed"] == 3
    refused = [c for c, a in zip(customers, answers, strict=True) if a.status_code == 409]
    for customer in refused:
        assert api.get("subscription", "/v1/subscriptions", params={"customer_id": customer})["data"] == []


def test_a_coupon_given_with_a_change_is_in_its_preview_its_reply_and_its_invoice(api: TenureClient):
    code = coupon(api, "UPGRADE25", percent_off=25, duration="once")
    basic, pro = plan(api, "basic", 10000), plan(api, "pro", 30000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe_with(api, clock, basic)
    api.advance(clock, "2026-06-16T00:00:00Z")
    path = f"/v1/subscriptions/{subscription['id']}/changes"
    body = {"plan_code": pro, "when": "now", "coupon_code": code}
    preview = api.post("subscription", f"{path}/preview", body)
    # 15 of 30 days at 300.00 less 15 at 100.00 = 100.00; 25% of it.
    assert (preview["proration"]["net"], [line["amount"] for line in preview["invoice_now_discounts"]]) == (10000, [-2500])
    refused = api.request("subscription", "POST", f"{path}/preview", json={**body, "coupon_code": "NO-SUCH"})
    assert (refused.status_code, refused.json()["code"]) == (404, "coupon_not_found")
    changed = api.post("subscription", path, body)
    assert changed["invoice_now_discounts"] == preview["invoice_now_discounts"]
    api.wait_ready(clock)
    _, upgrade = api.invoices(customer_id=customer)
    assert (discount_lines(upgrade), upgrade["total"]) == ([-2500], 7500)
