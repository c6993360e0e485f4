"""Scenario 8 of lifecycle-examples.md (usage in arrears) and usage ingestion through the public API:
dedupe within a batch, across batches and across a restart of the API, malformed events, late usage,
the aggregations, and a subscription's unbilled usage. Everything on test clocks, over the real broker.
"""

from __future__ import annotations

import pytest

from tests.support.client import TenureClient

pytestmark = pytest.mark.e2e


def _metered_customer(api: TenureClient, clock: str, charges: list[dict], *, amount: int = 0) -> tuple[str, str]:
    plan = api.unique("support-metered")
    api.post(
        "subscription",
        "/v1/plans",
        {
            "code": plan,
            "name": "Support (metered)",
            "currency": "USD",
            "amount": amount,
            "interval": "month",
            "metered_charges": charges,
        },
    )
    customer = api.post(
        "subscription",
        "/v1/customers",
        {
            "email": "usage@example.com",
            "name": "Usage",
            "currency": "USD",
            "payment_method": "pm_test_ok",
            "test_clock_id": clock,
        },
    )["id"]
    subscription = api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": plan})["id"]
    api.wait_ready(clock)
    return customer, subscription


def _support_hours(api: TenureClient) -> str:
    metric = api.unique("support_hours")
    api.post("subscription", "/v1/metrics", {"code": metric, "name": "Support hours", "aggregation": "sum"})
    return metric


def _event(event_id: str, customer: str, metric: str, at: str, value=None, **extra) -> dict:
    event = {"id": event_id, "customer_id": customer, "metric_code": metric, "timestamp": at, **extra}
    if value is not None:
        event["value"] = value
    return event


def _usage(api: TenureClient, events: list[dict], **kwargs) -> dict:
    return api.post("invoicing", "/v1/usage-events", {"events": events}, **kwargs)


def test_scenario_8_usage_in_arrears_and_late_usage(api: TenureClient):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    hours = _support_hours(api)
    customer, subscription = _metered_customer(api, clock, [{"metric_code": hours, "unit_amount": 8000}])
    assert api.invoices(subscription_id=subscription) == []  # 0.00 base: nothing billed in advance

    first = api.unique("evt")
    june = [
        _event(first, customer, hours, "2026-06-03T09:00:00Z", 4.5),
        _event(api.unique("evt"), customer, hours, "2026-06-10T14:30:00Z", 6),
    ]
    assert _usage(api, june) == {"accepted": 2, "duplicates": 0, "duplicate_ids": [], "rejected": 0, "errors": []}
    api.advance(clock, "2026-06-20T00:00:00Z")
    again = _usage(api, [june[0], _event(api.unique("evt"), customer, hours, "2026-06-19T16:00:00Z", "2")])
    assert (again["accepted"], again["duplicates"], again["duplicate_ids"]) == (1, 1, [first])

    usage = api.get("invoicing", f"/v1/subscriptions/{subscription}/usage")
    [metric] = usage["metrics"]
    assert (metric["metric_code"], metric["quantity"], metric["unit_amount"], metric["amount"]) == (hours, "12.5", 8000, 100000)
    assert (usage["usage_since"], usage["as_of"], usage["amount"]) == ("2026-06-01T00:00:00Z", "2026-06-20T00:00:00Z", 100000)

    api.advance(clock, "2026-07-01T00:00:00Z")
    [invoice] = api.invoices(subscription_id=subscription)
    [line] = [line for line in invoice["lines"] if line["kind"] == "usage"]
    assert line["description"] == "Support hours: 12.5 × 80.00 USD"
    assert (line["quantity_decimal"], line["unit_amount"], line["amount"]) == ("12.5", 8000, 100000)
    assert (line["period_start"], line["period_end"]) == ("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z")
    assert (invoice["total"], invoice["status"], invoice["amount_paid"]) == (100000, "paid", 100000)
    assert invoice["issued_at"] == "2026-07-01T00:00:00Z"
    assert sum(line["amount"] for line in invoice["lines"]) == 100000

    # A June event arriving after June was invoiced, and July usage: the August invoice carries both,
    # the late one as its own line naming June.
    late = _usage(
        api,
        [
            _event(api.unique("evt"), customer, hours, "2026-06-30T23:59:59Z", 1),
            _event(api.unique("evt"), customer, hours, "2026-07-15T10:00:00Z", "0.25"),
        ],
    )
    assert late["accepted"] == 2
    api.advance(clock, "2026-08-01T00:00:00Z")
    august = next(i for i in api.invoices(subscription_id=subscription) if i["id"] != invoice["id"])
    usage_lines = [
        (l["description"], l["quantity_decimal"], l["amount"], l["period_start"], l["period_end"])
        for l in august["lines"]
        if l["kind"] == "usage"
    ]
    assert usage_lines == [
        ("Support hours: 0.25 × 80.00 USD", "0.25", 2000, "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z"),
        (
            "Late usage, Support hours for 2026-06-01 – 2026-07-01: +1, now 13.5 × 80.00 USD",
            "1",
            8000,
            "2026-06-01T00:00:00Z",
            "2026-07-01T00:00:00Z",
        ),
    ]
    assert august["total"] == 10000


def test_malformed_events_are_listed_and_the_rest_accepted(api: TenureClient):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    hours = _support_hours(api)
    customer, subscription = _metered_customer(api, clock, [{"metric_code": hours, "unit_amount": 8000}])
    good = _event(api.unique("evt"), customer, hours, "2026-06-02T00:00:00Z", 1)
    reply = _usage(
        api,
        [
            good,
            _event(api.unique("evt"), customer, hours, "yesterday", 1),
            _event(api.unique("evt"), customer, hours, "2026-06-02T00:00:00", 1),
            _event(api.unique("evt"), customer, hours, "2026-06-02T00:00:00Z", -3),
            _event(api.unique("evt"), customer, hours, "2026-06-02T00:00:00Z", 0.5, colour="red"),
            {"customer_id": customer, "metric_code": hours, "timestamp": "2026-06-02T00:00:00Z", "value": 1},
            "not an event",
            _event(api.unique("evt"), customer, "Not A Code", "2026-06-02T00:00:00Z", 1),
            _event(api.unique("evt"), customer, hours, "2026-06-02T00:00:00Z", True),
            good,
        ],
    )
    assert (reply["accepted"], reply["duplicates"], reply["rejected"]) == (1, 1, 8)
    assert [(e["index"], e["code"], e["field"]) for e in reply["errors"]] == [
        (1, "invalid_timestamp", "timestamp"),
        (2, "invalid_timestamp", "timestamp"),
        (3, "invalid_value", "value"),
        (4, "unknown_field", None),
        (5, "invalid_field", "id"),
        (6, "invalid_event", None),
        (7, "invalid_field", "metric_code"),
        (8, "invalid_value", "value"),
    ]
    api.advance(clock, "2026-06-03T00:00:00Z")
    assert api.get("invoicing", f"/v1/subscriptions/{subscription}/usage")["metrics"][0]["quantity"] == "1"

    too_many = api.request("invoicing", "POST", "/v1/usage-events", json={"events": [good] * 1001})
    assert (too_many.status_code, too_many.json()["code"]) == (422, "too_many_events")
    not_json = api.request("invoicing", "POST", "/v1/usage-events", content=b"{", headers={"content-type": "application/json"})
    assert (not_json.status_code, not_json.json()["code"]) == (422, "malformed_json")
    wrong_shape = api.request("invoicing", "POST", "/v1/usage-events", json=[good])
    assert (wrong_shape.status_code, wrong_shape.json()["code"]) == (422, "validation_error")
    unauthorized = api.http.post(
        api.urls["invoicing"] + "/v1/usage-events", json={"events": [good]}, headers={"Authorization": ""}
    )
    assert unauthorized.status_code == 401


def test_duplicates_across_batches_and_a_restart_of_the_api_count_once(api: TenureClient, stack):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    hours = _support_hours(api)
    customer, subscription = _metered_customer(api, clock, [{"metric_code": hours, "unit_amount": 100}])
    batch = [_event(api.unique("evt"), customer, hours, f"2026-06-{day:02d}T12:00:00Z", day) for day in range(1, 21)]
    assert _usage(api, batch[:15])["accepted"] == 15
    overlapping = _usage(api, batch[10:])
    assert (overlapping["accepted"], overlapping["duplicates"]) == (5, 5)

    api_process = stack.processes[("invoicing", "api")]
    api_process.stop()
    api_process.start()
    stack.wait_ready()
    after_restart = _usage(api, batch)
    assert (after_restart["accepted"], after_restart["duplicates"]) == (0, 20)
    assert sorted(after_restart["duplicate_ids"]) == sorted(e["id"] for e in batch)

    # An Idempotency-Key replays the first reply instead of reporting duplicates.
    fresh = [_event(api.unique("evt"), customer, hours, "2026-06-25T00:00:00Z", 1)]
    key = {"Idempotency-Key": api.unique("usage")}
    first = api.request("invoicing", "POST", "/v1/usage-events", json={"events": fresh}, headers=key, expect=200)
    replay = api.request("invoicing", "POST", "/v1/usage-events", json={"events": fresh}, headers=key, expect=200)
    assert first.json()["accepted"] == 1 and replay.json() == first.json()
    assert replay.headers.get("idempotent-replayed") == "true"

    api.advance(clock, "2026-06-30T00:00:00Z")
    usage = api.get("invoicing", f"/v1/subscriptions/{subscription}/usage")
    assert usage["metrics"][0]["quantity"] == str(sum(range(1, 21)) + 1)


def test_aggregations_tiers_and_events_for_unknown_subscriptions(api: TenureClient):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    seats, users, calls = api.unique("seats"), api.unique("users"), api.unique("calls")
    api.post("subscription", "/v1/metrics", {"code": seats, "name": "Seats", "aggregation": "max", "property": "seats"})
    api.post(
        "subscription", "/v1/metrics", {"code": users, "name": "Active users", "aggregation": "unique_count", "property": "user"}
    )
    api.post("subscription", "/v1/metrics", {"code": calls, "name": "API calls", "aggregation": "count"})
    customer, subscription = _metered_customer(
        api,
        clock,
        [
            {"metric_code": seats, "unit_amount": 1000, "included_units": 2},
            {
                "metric_code": users,
                "model": "tiered",
                "tiers": [{"up_to": 2, "unit_amount": 500}, {"up_to": None, "unit_amount": 300}],
            },
            {"metric_code": calls, "model": "package", "unit_amount": 100, "package_size": 1000},
        ],
    )
    events = [
        _event(api.unique("evt"), customer, seats, "2026-06-02T00:00:00Z", properties={"seats": 3}),
        _event(api.unique("evt"), customer, seats, "2026-06-03T00:00:00Z", properties={"seats": 5}),
        _event(api.unique("evt"), customer, seats, "2026-06-04T00:00:00Z", properties={"seats": 4}),
        *[_event(api.unique("evt"), customer, users, "2026-06-05T00:00:00Z", properties={"user": u}) for u in "abcab"],
        *[_event(api.unique("evt"), customer, calls, "2026-06-06T00:00:00Z") for _ in range(990)],
        # Valid for the metric (a max of property `seats`), but for a subscription not known yet.
        _event(
            api.unique("evt"),
            customer,
            seats,
            "2026-06-04T00:00:00Z",
            properties={"seats": 99},
            subscription_id="sub_not_known_yet",
        ),
    ]
    assert _usage(api, events)["accepted"] == len(events)

    api.advance(clock, "2026-06-10T00:00:00Z")
    usage = {m["metric_code"]: m for m in api.get("invoicing", f"/v1/subscriptions/{subscription}/usage")["metrics"]}
    assert (usage[seats]["quantity"], usage[seats]["billable_quantity"], usage[seats]["amount"]) == ("5", "3", 3000)
    assert (usage[users]["quantity"], usage[users]["amount"]) == ("3", 2 * 500 + 300)
    assert [(t["quantity"], t["unit_amount"]) for t in usage[users]["tiers"]] == [("2", 500), ("1", 300)]
    assert (usage[calls]["quantity"], usage[calls]["amount"]) == ("990", 100)


def test_usage_follows_the_plan_in_force_when_it_happened(api: TenureClient):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    hours = _support_hours(api)
    customer, subscription = _metered_customer(api, clock, [{"metric_code": hours, "unit_amount": 8000}])
    cheaper = api.unique("support-cheaper")
    api.post(
        "subscription",
        "/v1/plans",
        {
            "code": cheaper,
            "name": "Support (cheaper)",
            "currency": "USD",
            "amount": 0,
            "interval": "month",
            "metered_charges": [{"metric_code": hours, "unit_amount": 5000}],
        },
    )
    _usage(
        api,
        [
            _event(api.unique("evt"), customer, hours, "2026-06-10T00:00:00Z", 2),
            _event(api.unique("evt"), customer, hours, "2026-06-20T00:00:00Z", 3),
        ],
    )
    api.advance(clock, "2026-06-16T00:00:00Z")
    api.post("subscription", f"/v1/subscriptions/{subscription}/changes", {"plan_code": cheaper, "when": "now"})
    api.advance(clock, "2026-07-01T00:00:00Z")
    [invoice] = api.invoices(subscription_id=subscription)
    lines = [
        (l["description"], l["amount"], l["period_start"], l["period_end"]) for l in invoice["lines"] if l["kind"] == "usage"
    ]
    assert lines == [
        ("Support hours: 2 × 80.00 USD", 16000, "2026-06-01T00:00:00Z", "2026-06-16T00:00:00Z"),
        ("Support hours: 3 × 50.00 USD", 15000, "2026-06-16T00:00:00Z", "2026-07-01T00:00:00Z"),
    ]
    assert invoice["total"] == 31000
