"""Discount arithmetic (tenure_subscription.discounts): the contract's rules and money properties."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tenure_shared.events import ChargeLine
from tenure_subscription.charges import Item, change_lines, period_lines
from tenure_subscription.discounts import DiscountTerms, discount_invoice, period_cost, share_of_cost, whole_period_cost
from tenure_subscription.proration import prorate

JUNE, JULY, AUGUST = (datetime(2026, m, 1, tzinfo=UTC) for m in (6, 7, 8))
PLAN = Item(kind="subscription", code="support", name="Support", unit_amount=30000, quantity=1)
SEATS = Item(kind="addon", code="seats", name="Seats", unit_amount=1000, quantity=5)


def percent(value: str, **kw) -> DiscountTerms:
    return DiscountTerms(id="di_p", label="LOYAL20", starts_at=JUNE, percent_off=Decimal(value), **kw)


def fixed(amount: int, **kw) -> DiscountTerms:
    return DiscountTerms(id="di_f", label="FIFTY", starts_at=JUNE, amount_off=amount, **kw)


def total(lines, discounted) -> int:
    return sum(line.amount for line in lines) + sum(line.amount for line in discounted.lines)


def test_example_9_twenty_percent_of_300_is_one_line_of_minus_60():
    lines = period_lines([PLAN], start=JUNE, end=JULY)
    result = discount_invoice(lines, [percent("20")])
    [line] = result.lines
    assert (line.kind, line.amount, line.description) == ("discount", -6000, "LOYAL20")
    assert total(lines, result) == 24000
    assert [(u.period_end, u.amount) for u in result.uses] == [(JULY, 6000)]


def test_example_9_pause_credit_is_on_the_discounted_cost():
    lines = period_lines([PLAN], start=JUNE, end=JULY)
    cost = period_cost(lines, [percent("20", used={JULY: 0})])
    assert cost == 24000
    assert prorate(cost, 5, 30) == 4000


def test_percent_rounds_half_up_once_on_the_eligible_sum():
    one = Item(kind="subscription", code="p", name="P", unit_amount=5, quantity=1)
    two = Item(kind="addon", code="a", name="A", unit_amount=5, quantity=1)
    lines = period_lines([one, two], start=JUNE, end=JULY)
    # 12.5% of 10 = 1.25 -> 1; per line it would be 0.625 + 0.625 -> 1 + 1 = 2.
    assert discount_invoice(lines, [percent("12.5")]).lines[0].amount == -1
    assert discount_invoice(period_lines([one], start=JUNE, end=JULY), [percent("50")]).lines[0].amount == -3  # 2.5 -> 3


def test_never_usage_or_one_time_lines():
    usage = ChargeLine(kind="usage", description="hours", unit_amount=8000, amount=8000, period_start=JUNE, period_end=JULY)
    one_time = ChargeLine(kind="addon", description="setup", unit_amount=5000, amount=5000)  # no period: bought once
    result = discount_invoice([usage, one_time], [percent("50"), fixed(1000)])
    assert result.lines == [] and result.uses == []


def test_applies_to_narrows_to_the_listed_items():
    lines = period_lines([PLAN, SEATS], start=JUNE, end=JULY)
    only_seats = percent("10", addon_codes=frozenset({"seats"}))
    assert discount_invoice(lines, [only_seats]).lines[0].amount == -500
    other_plan = percent("10", plan_codes=frozenset({"other"}))
    assert discount_invoice(lines, [other_plan]).lines == []


def test_fixed_applies_before_percent():
    lines = period_lines([PLAN], start=JUNE, end=JULY)
    result = discount_invoice(lines, [percent("10"), fixed(10000)])
    assert [line.amount for line in result.lines] == [-10000, -2000]  # 100.00, then 10% of 200.00


def test_fixed_amount_leftover_covers_later_invoices_of_the_period_only():
    small = Item(kind="subscription", code="basic", name="Basic", unit_amount=10000, quantity=1)
    first = discount_invoice(period_lines([small], start=JUNE, end=JULY), [fixed(15000)])
    assert first.lines[0].amount == -10000  # at most the eligible sum
    upgrade = change_lines([small], [PLAN], period_start=JUNE, period_end=JULY, change_at=datetime(2026, 6, 16, tzinfo=UTC))
    later = discount_invoice(upgrade, [fixed(15000, used={JULY: 10000})])
    assert later.lines[0].amount == -5000  # what is left of 150.00 in June
    renewal = discount_invoice(period_lines([small], start=JULY, end=AUGUST), [fixed(15000, used={JULY: 15000})])
    assert renewal.lines[0].amount == -10000  # nothing carried: July starts afresh


def test_once_covers_one_period_repeating_n_forever_all():
    july = period_lines([PLAN], start=JULY, end=AUGUST)
    assert discount_invoice(july, [percent("20", periods_limit=1, used={JULY: 0})]).lines == []
    assert discount_invoice(july, [percent("20", periods_limit=2, used={JULY: 0})]).lines[0].amount == -6000
    assert discount_invoice(july, [percent("20", used={JULY: 0})]).lines[0].amount == -6000


def test_a_discount_starting_at_the_period_end_covers_the_next_period_not_the_current():
    later = DiscountTerms(id="di", label="L", starts_at=JULY, percent_off=Decimal(20))
    assert discount_invoice(period_lines([PLAN], start=JUNE, end=JULY), [later]).lines == []
    assert discount_invoice(period_lines([PLAN], start=JULY, end=AUGUST), [later]).lines[0].amount == -6000


def test_upgrade_proration_is_discounted_on_credit_and_charge():
    basic = Item(kind="subscription", code="basic", name="Basic", unit_amount=10000, quantity=1)
    lines = change_lines([basic], [PLAN], period_start=JUNE, period_end=JULY, change_at=datetime(2026, 6, 16, tzinfo=UTC))
    result = discount_invoice(lines, [percent("20", used={JULY: 0})])
    assert total(lines, result) == 8000  # net 100.00 less 20%


amounts = st.integers(min_value=-50_000, max_value=200_000)
line_kinds = st.sampled_from(["subscription", "addon", "proration", "usage", "one_time"])
period_ends = st.sampled_from([JULY, AUGUST])


@st.composite
def invoices(draw):
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        kind = draw(line_kinds)
        amount = draw(amounts) if kind == "proration" else draw(st.integers(min_value=0, max_value=200_000))
        lines.append(
            ChargeLine(
                kind=kind, description=kind, unit_amount=amount, amount=amount, period_start=JUNE, period_end=draw(period_ends)
            )
        )
    return lines


@st.composite
def discount_sets(draw):
    found = []
    for n in range(draw(st.integers(min_value=0, max_value=3))):
        used = draw(st.dictionaries(period_ends, st.integers(min_value=0, max_value=100_000), max_size=2))
        limit = draw(st.none() | st.integers(min_value=1, max_value=3))
        if draw(st.booleans()):
            found.append(
                DiscountTerms(
                    id=f"f{n}",
                    label="F",
                    starts_at=JUNE,
                    amount_off=draw(st.integers(1, 100_000)),
                    used=used,
                    periods_limit=limit,
                )
            )
        else:
            pct = Decimal(draw(st.integers(min_value=1, max_value=10_000))) / 100
            found.append(DiscountTerms(id=f"p{n}", label="P", starts_at=JUNE, percent_off=pct, used=used, periods_limit=limit))
    return found


@given(invoices(), discount_sets())
def test_no_cent_created_or_lost_and_never_below_zero(lines, discounts):
    result = discount_invoice(lines, discounts)
    before = sum(line.amount for line in lines)
    after = total(lines, result)
    assert before - after == sum(use.amount for use in result.uses)  # lines less discounts equal the total
    assert all(line.amount < 0 and line.kind == "discount" for line in result.lines)
    assert after >= min(before, 0)  # a discount never makes an invoice negative
    if before >= 0:
        assert after >= 0


@given(invoices(), discount_sets())
def test_each_discount_takes_at_most_what_its_lines_are_worth(lines, discounts):
    """A percentage at most its eligible sum on the invoice; a fixed amount, in each period, at most
    that period's eligible sum and what is left of the amount there."""
    result = discount_invoice(lines, discounts)

    def eligible(discount, periods):
        return max(0, sum(line.amount for line in lines if discount.applies_to(line) and line.period_end in periods))

    for discount in discounts:
        uses = [u for u in result.uses if u.discount_id == discount.id]
        if discount.fixed:
            for use in uses:
                left = max(0, discount.amount_off - discount.used.get(use.period_end, 0))
                assert 0 <= use.amount <= min(eligible(discount, {use.period_end}), left)
        else:
            assert 0 <= sum(u.amount for u in uses) <= eligible(discount, {u.period_end for u in uses})
            assert all(0 <= u.amount <= eligible(discount, {u.period_end}) for u in uses)


@given(
    st.integers(min_value=0, max_value=1_000_000),
    st.integers(min_value=1, max_value=10_000),
    st.integers(min_value=0, max_value=31),
)
def test_a_credit_never_exceeds_what_was_paid_for_the_days_it_covers(price, basis_points, unused):
    item = Item(kind="subscription", code="p", name="P", unit_amount=price, quantity=1)
    lines = period_lines([item], start=JULY, end=AUGUST)
    discount = DiscountTerms(id="d", label="D", starts_at=JUNE, percent_off=Decimal(basis_points) / 100, used={AUGUST: 0})
    paid = total(lines, discount_invoice(lines, [discount]))
    assert period_cost(lines, [discount]) == paid
    assert prorate(period_cost(lines, [discount]), unused, 31) <= prorate(paid, unused, 31)
    assert prorate(period_cost(lines, [discount]), unused, 31) <= prorate(price, unused, 31)


def test_a_downgrade_credit_is_on_what_the_period_cost():
    assert share_of_cost(15000, list_amount=30000, cost=24000) == 12000
    assert share_of_cost(15000, list_amount=30000, cost=25000) == 12500
    assert share_of_cost(1, list_amount=3, cost=2) == 1  # 0.67 rounds half-up once
    assert share_of_cost(500, list_amount=0, cost=0) == 500


@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=1, max_value=10**7), st.data())
def test_a_scaled_credit_never_exceeds_the_list_credit(amount, list_amount, data):
    cost = data.draw(st.integers(min_value=0, max_value=list_amount))
    assert 0 <= share_of_cost(amount, list_amount=list_amount, cost=cost) <= amount


def test_period_cost_counts_a_fixed_amount_in_full_and_only_discounts_that_covered_the_period():
    june = period_lines([PLAN, SEATS], start=JUNE, end=JULY)
    assert period_cost(june, [fixed(5000, used={JULY: 5000})]) == 30000  # 350.00 less the whole 50.00
    assert period_cost(june, [fixed(5000, used={AUGUST: 0})]) == 35000  # it covered July's period, not June's
    seats_only = percent("50", addon_codes=frozenset({"seats"}), used={JULY: 0})
    assert period_cost(june, [seats_only]) == 32500


def test_the_recurring_amount_after_discounts_takes_fixed_before_percent_and_counts_a_fixed_amount_in_full():
    lines = period_lines([PLAN, SEATS], start=JUNE, end=JULY)  # 300.00 + 50.00
    # 350.00 - 50.00 = 300.00, then 10% of it: 270.00 (not 350.00 - 35.00 - 50.00 = 265.00).
    assert whole_period_cost(lines, [fixed(5000), percent("10")]) == 27000
    # A fixed amount an earlier invoice of the same period partly took still counts in full.
    assert whole_period_cost(lines, [fixed(5000, used={JULY: 2000})]) == 30000
    seats_only = percent("50", addon_codes=frozenset({"seats"}), plan_codes=frozenset())
    assert whole_period_cost(lines, [seats_only]) == 32500  # half of the seats only


def test_the_recurring_amount_after_discounts_leaves_out_a_spent_or_not_yet_started_discount():
    lines = period_lines([PLAN], start=JULY, end=AUGUST)
    spent = fixed(5000, periods_limit=1, used={JULY - (AUGUST - JULY): 5000})  # its one period was June
    assert whole_period_cost(lines, [spent]) == 30000
    later = DiscountTerms(id="di_l", label="LATER", starts_at=AUGUST, percent_off=Decimal("20"))
    assert whole_period_cost(lines, [later]) == 30000


@given(st.integers(0, 10**7), st.integers(0, 100), st.integers(0, 10**7))
def test_the_recurring_amount_after_discounts_is_never_negative_nor_above_the_list_amount(amount, pct, off):
    plan = Item(kind="subscription", code="p", name="P", unit_amount=amount, quantity=1)
    lines = period_lines([plan], start=JUNE, end=JULY)
    assert 0 <= whole_period_cost(lines, [fixed(off), percent(str(pct))]) <= amount
