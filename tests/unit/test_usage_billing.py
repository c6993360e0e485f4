"""Usage billing's pure parts: which plan prices which stretch of time, who owns untargeted events,
how a usage line reads, and the roll-up of accepted batches for tenure.usage."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from tenure_invoicing.pricing import price_usage
from tenure_invoicing.usage.billing import UsageItem, decimal_text, price_of
from tenure_invoicing.usage.periods import Interval, foreign_ranges, metrics_charged, pricing_segments
from tenure_invoicing.usage.rollup import summarize


def day(n: int, month: int = 6) -> datetime:
    return datetime(2026, month, n, tzinfo=UTC)


HOURS = {"metric_code": "hours", "metric_name": "Support hours", "aggregation": "sum", "model": "per_unit", "unit_amount": 8000}
HOURS_CHEAP = {**HOURS, "unit_amount": 5000}


def interval(start, end, *, status="active", plan="metered", charges=(HOURS,), sub="sub_a") -> Interval:
    return Interval(sub, start, end, status, plan, tuple(charges))


def test_one_plan_all_month_is_one_segment():
    [segment] = pricing_segments([interval(day(1), None)], "hours", day(1), day(1, 7))
    assert (segment.start, segment.end, segment.charge) == (day(1), day(1, 7), HOURS)


def test_a_plan_change_mid_period_splits_the_usage_at_the_change():
    intervals = [interval(day(1), day(16)), interval(day(16), None, plan="cheaper", charges=(HOURS_CHEAP,))]
    segments = pricing_segments(intervals, "hours", day(1), day(1, 7))
    assert [(s.start, s.end, s.charge["unit_amount"]) for s in segments] == [(day(1), day(16), 8000), (day(16), day(1, 7), 5000)]


def test_paused_and_free_plan_usage_follows_the_plan_in_force_trials_and_cancellations_bill_nothing():
    intervals = [
        interval(day(1), day(5), status="trialing"),
        interval(day(5), day(10)),
        interval(day(10), day(20), status="paused"),
        interval(day(20), day(25), plan="free", charges=(HOURS_CHEAP,)),
        interval(day(25), None, status="cancelled"),
    ]
    segments = pricing_segments(intervals, "hours", day(1), day(1, 7))
    assert [(s.start.day, s.end.day, s.plan_code, s.charge["unit_amount"]) for s in segments] == [
        (5, 20, "metered", 8000),
        (20, 25, "free", 5000),
    ]


def test_metrics_charged_in_first_seen_order_and_segments_only_for_charging_plans():
    calls = {**HOURS, "metric_code": "calls"}
    intervals = [interval(day(1), day(10), charges=(HOURS,)), interval(day(10), None, charges=(calls, HOURS))]
    assert metrics_charged(intervals) == ["hours", "calls"]
    assert [(s.start, s.end) for s in pricing_segments(intervals, "calls", day(1), day(30))] == [(day(10), day(30))]


def test_untargeted_events_go_to_the_earlier_subscription_while_it_charges_the_metric():
    others = [
        interval(day(1), day(10), sub="sub_first"),
        interval(day(10), day(20), sub="sub_first", status="cancelled"),
        interval(day(20), None, sub="sub_first", charges=()),
    ]
    assert foreign_ranges(others, "hours", day(5), day(1, 7)) == [(day(5), day(10))]


def item(quantity: str, charge: dict, *, late: bool = False, previous: tuple[str, int] = ("0", 0)) -> UsageItem:
    total = Decimal(quantity) + (Decimal(previous[0]) if late else 0)
    priced = price_usage(Fraction(total), price_of(charge))
    return UsageItem(
        metric_code=charge["metric_code"],
        metric_name=charge["metric_name"],
        aggregation="sum",
        window_start=day(1),
        window_end=day(1, 7),
        charge=charge,
        late=late,
        quantity=Decimal(quantity),
        amount=priced.amount - (previous[1] if late else 0),
        total_quantity=total,
        total_amount=priced.amount,
        priced=priced,
    )


def test_scenario_8_line_reads_quantity_times_unit_price():
    line = item("12.5", HOURS).line("USD")
    assert (line.kind, line.description, line.quantity, line.unit_amount, line.amount) == (
        "usage",
        "Support hours: 12.5 × 80.00 USD",
        13,
        8000,
        100000,
    )
    assert (line.period_start, line.period_end) == (day(1), day(1, 7))


def test_late_usage_line_names_its_period_and_bills_the_difference():
    late = item("1", HOURS, late=True, previous=("12.5", 100000))
    assert late.line("USD").description == "Late usage, Support hours for 2026-06-01 – 2026-07-01: +1, now 13.5 × 80.00 USD"
    assert (late.amount, late.total_amount) == (8000, 108000)


def test_graduated_line_shows_its_tiers():
    tiered = {
        **HOURS,
        "model": "tiered",
        "unit_amount": 0,
        "tiers": [{"up_to": 10, "unit_amount": 1000}, {"up_to": None, "unit_amount": 800, "flat_amount": 500}],
    }
    usage = item("12.5", tiered)
    assert usage.line("USD").description == "Support hours: 12.5, graduated tiers: 10 × 10.00 USD; 2.5 × 8.00 USD + 5.00 USD"
    assert usage.amount == 10000 + 2000 + 500
    assert usage.unit_amount == 800
    assert [t["quantity"] for t in usage.details()["tiers"]] == ["10", "2.5"]


@given(st.fractions(min_value=0, max_value=10**6, max_denominator=10**4))
def test_decimal_text_is_exact(value):
    text = decimal_text(value)
    assert Fraction(text) == value


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["cus_a", "cus_b"]),
            st.sampled_from(["hours", "calls"]),
            st.integers(1, 1000),
            st.decimals(0, 10**6, places=3),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_rollup_keeps_every_event_and_value(rows):
    summaries = [[[c, m, n, str(v), "2026-06-01T00:00:00+00:00", "2026-06-02T00:00:00+00:00"]] for c, m, n, v in rows]
    rolled = summarize(summaries)
    assert sum(m.events for data in rolled.values() for m in data.metrics) == sum(n for _, _, n, _ in rows)
    assert sum(Decimal(m.value_total) for data in rolled.values() for m in data.metrics) == sum(v for *_, v in rows)
    assert set(rolled) == {c for c, *_ in rows}
