"""Retention figures from MRR histories: movements, the MRR bridge, ratios rounded half-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from tenure_health.retention import History, State, classify, figures, ratio, rounded_report

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
