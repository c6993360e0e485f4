"""Retention figures from MRR histories: movements, the MRR bridge, ratios rounded half-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from tenure_health.retention import (
    MOVEMENTS,
    History,
    Renewals,
    State,
    SubscriptionEnds,
    classify,
    figures,
    ratio,
    rounded_report,
    tally,
)

START, END = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)


def history(customer: str, *states: tuple[int, int, bool], renewed: tuple[int, ...] = ()) -> History:
    """States as (day offset from START, MRR, paused)."""
    h = History(subscription_id=f"sub-{customer}-{len(states)}", customer_id=customer)
    h.states = [State(at=START + timedelta(days=d), mrr=Fraction(m), paused=p) for d, m, p in states]
    h.renewed_at = {START + timedelta(days=d) for d in renewed}
    return h


def test_each_movement():
    assert classify(Fraction(0), Fraction(5), had_mrr_before=False, paused_at_start=False, paused_at_end=False) == "new"
    assert classify(Fraction(0), Fraction(5), had_mrr_before=True, paused_at_start=False, paused_at_end=False) == "reactivation"
    assert classify(Fraction(0), Fraction(5), had_mrr_before=True, paused_at_start=True, paused_at_end=False) == "resumed"
    assert classify(Fraction(5), Fraction(0), had_mrr_before=True, paused_at_start=False, paused_at_end=True) == "paused"
    assert classify(Fraction(5), Fraction(0), had_mrr_before=True, paused_at_start=False, paused_at_end=False) == "churn"
    assert classify(Fraction(5), Fraction(7), had_mrr_before=True, paused_at_start=False, paused_at_end=False) == "expansion"
    assert classify(Fraction(5), Fraction(3), had_mrr_before=True, paused_at_start=False, paused_at_end=False) == "contraction"
    assert classify(Fraction(5), Fraction(5), had_mrr_before=True, paused_at_start=False, paused_at_end=False) is None


def test_the_state_at_the_window_start_counts_and_the_one_at_its_end_too():
    h = history("a", (-30, 100, False), (0, 200, False), (30, 0, False))
    assert (h.mrr_at(START), h.mrr_at(END)) == (200, 0)
    assert not h.had_mrr_before(START - timedelta(days=30))


def test_ratios_round_half_up_to_four_places():
    assert ratio(1, 8) == Decimal("0.1250")
    assert ratio(Fraction(5, 100000), 1) == Decimal("0.0001")  # 0.00005 rounds up
    assert ratio(250, 650) == Decimal("0.3846")
    assert ratio(1, 0) is None


def test_money_is_rounded_once_at_the_end():
    # Two customers with a third of a cent each: 2/3 rounds to 1 once, where 0 + 0 would be 0.
    thirds = [History(subscription_id=c, customer_id=c, states=[State(at=START, mrr=Fraction(1, 3), paused=False)]) for c in "ab"]
    report = rounded_report(
        figures(thirds, start=START, end=END, deals=[], free_plan_moves=0), currency="USD", start=START, end=END
    )
    assert (report["mrr_start"], report["mrr_end"]) == (1, 1)


paths = st.lists(
    st.tuples(st.integers(-60, 40), st.integers(0, 5).map(lambda m: m * 1000), st.booleans()), min_size=1, max_size=6
)


@given(st.lists(paths, min_size=1, max_size=8))
def test_the_bridge_from_start_to_end_holds(population):
    histories = [history(f"c{i}", *sorted(states, key=lambda s: s[0])) for i, states in enumerate(population)]
    result = figures(histories, start=START, end=END, deals=[], free_plan_moves=0)
    m = result.movements
    bridge = (
        result.mrr_start
        + m["new"]
        + m["reactivation"]
        + m["resumed"]
        + m["expansion"]
        - m["contraction"]
        - m["churn"]
        - m["paused"]
    )
    assert bridge == result.mrr_end
    assert all(amount >= 0 for amount in m.values())


fractional_mrr = st.sampled_from([Fraction(0), Fraction(5000), Fraction(100000, 12), Fraction(2500 * 52, 12), Fraction(1, 3)])
subscription_ends = st.builds(
    lambda customer, start, end, flags: SubscriptionEnds(
        f"c{customer}", start.numerator, start.denominator, flags[0], end.numerator, end.denominator, flags[1], flags[2]
    ),
    st.integers(0, 5),
    fractional_mrr,
    fractional_mrr,
    st.tuples(st.booleans(), st.booleans(), st.booleans()),
)


@given(st.lists(subscription_ends, max_size=20))
def test_the_tally_in_integers_over_a_common_denominator_is_the_exact_sum_per_customer(ends):
    # The same figures with plain Fraction arithmetic, customer by customer: no cent created or lost.
    customers: dict[str, list[SubscriptionEnds]] = {}
    for e in ends:
        customers.setdefault(e.customer_id, []).append(e)
    movements = dict.fromkeys(MOVEMENTS, Fraction(0))
    mrr_start = mrr_end = Fraction(0)
    for subscriptions in customers.values():
        start = sum((Fraction(e.start_numerator, e.start_denominator) for e in subscriptions), Fraction(0))
        end = sum((Fraction(e.end_numerator, e.end_denominator) for e in subscriptions), Fraction(0))
        mrr_start, mrr_end = mrr_start + start, mrr_end + end
        movement = classify(
            start,
            end,
            had_mrr_before=any(e.had_mrr_before for e in subscriptions),
            paused_at_start=any(e.paused_at_start for e in subscriptions),
            paused_at_end=any(e.paused_at_end for e in subscriptions),
        )
        if movement:
            movements[movement] += abs(end - start)
    result = tally(ends, renewals=Renewals(), deal_count=0, deal_total=0, free_plan_moves=0)
    assert (result.mrr_start, result.mrr_end, result.movements) == (mrr_start, mrr_end, movements)
