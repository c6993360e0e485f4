"""Usage ingestion's checks (pure): per-event errors, in-batch repeats, exact decimal values."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from tenure_invoicing.usage.ingestion import MAX_EVENTS, parse_events

METRICS = {"hours": ("sum", None), "seats": ("max", "seats"), "users": ("unique_count", "user"), "calls": ("count", None)}


def event(event_id: str = "e1", **fields) -> dict:
    base = {"id": event_id, "customer_id": "cus_1", "metric_code": "hours", "timestamp": "2026-06-01T10:00:00Z", "value": 1}
    return {**base, **fields}


def codes(batch) -> list[tuple[int, str, str | None]]:
    return [(e["index"], e["code"], e["field"]) for e in batch.errors]


def test_a_valid_batch_becomes_columns():
    events = [event("a", value=12.5), event("b", value="0.25", subscription_id="sub_1"), event("c", value=3)]
    batch = parse_events(events, METRICS)
    assert batch.ids == ["a", "b", "c"]
    assert batch.values == ["12.5", "0.25", "3"]
    assert batch.subscription_ids == [None, "sub_1", None]
    assert batch.timestamps == [datetime(2026, 6, 1, 10, tzinfo=UTC)] * 3
    assert batch.errors == [] and batch.repeats == []


def test_repeats_within_a_batch_count_once():
    batch = parse_events([event("a"), event("b"), event("a", value=99), event("a")], METRICS)
    assert batch.ids == ["a", "b"] and batch.values == ["1", "1"]
    assert batch.repeats == ["a", "a"]


def test_each_malformed_event_gets_its_error_and_the_rest_pass():
    batch = parse_events(
        [
            event("ok"),
            "text",
            event("", value=1),
            event("t1", timestamp="2026-06-01T10:00:00"),
            event("t2", timestamp="June 1st"),
            event("t3", timestamp=1717236000),
            event("v1", value=-1),
            event("v2", value=True),
            event("v3", value="1e3"),
            event("v4", value=10**15),
            event("m1", metric_code="Hours"),
            event("c1", customer_id=""),
            event("s1", subscription_id=7),
            event("u1", colour="red"),
            event("p1", properties=[1]),
            event("h1", value=None),
        ],
        METRICS,
    )
    assert batch.ids == ["ok"]
    assert codes(batch) == [
        (1, "invalid_event", None),
        (2, "invalid_field", "id"),
        (3, "invalid_timestamp", "timestamp"),
        (4, "invalid_timestamp", "timestamp"),
        (5, "invalid_timestamp", "timestamp"),
        (6, "invalid_value", "value"),
        (7, "invalid_value", "value"),
        (8, "invalid_value", "value"),
        (9, "invalid_value", "value"),
        (10, "invalid_field", "metric_code"),
        (11, "invalid_field", "customer_id"),
        (12, "invalid_field", "subscription_id"),
        (13, "unknown_field", None),
        (14, "invalid_field", "properties"),
        (15, "missing_value", "value"),
    ]
    assert batch.errors[2]["id"] == "t1" and batch.errors[0]["id"] is None


def test_known_metrics_need_what_they_aggregate_unknown_ones_are_accepted():
    batch = parse_events(
        [
            event("s1", metric_code="seats", value=None, properties={"seats": 4}),
            event("s2", metric_code="seats", value=None, properties={"seats": "4.5"}),
            event("s3", metric_code="seats", properties={"other": 1}),
            event("s4", metric_code="seats", properties={"seats": -1}),
            event("u1", metric_code="users", value=None, properties={"user": "ann"}),
            event("u2", metric_code="users", value=None),
            event("c1", metric_code="calls", value=None),
            event("x1", metric_code="not_known_yet", value=None),
        ],
        METRICS,
    )
    assert batch.ids == ["s1", "s2", "u1", "c1", "x1"]
    assert batch.properties[:3] == ['{"seats":4}', '{"seats":"4.5"}', '{"user":"ann"}']
    assert codes(batch) == [
        (2, "missing_property", "properties"),
        (3, "invalid_value", "properties.seats"),
        (5, "missing_property", "properties"),
    ]


@given(st.decimals(min_value=0, max_value=10**12, places=6, allow_nan=False, allow_infinity=False))
def test_decimal_strings_are_kept_exactly(value):
    text = format(value, "f")
    assert parse_events([event(value=text)], METRICS).values == [text]


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False))
def test_json_numbers_keep_the_shortest_text_that_reads_back_as_the_same_number(value):
    [text] = parse_events([event(value=value)], METRICS).values
    assert float(text) == value


def test_the_batch_limit_is_a_thousand():
    assert MAX_EVENTS == 1000
