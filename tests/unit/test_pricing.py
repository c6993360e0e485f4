"""Usage pricing: per-unit, graduated, volume and package models, exact until one final rounding."""

import math
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure_invoicing.pricing import MeteredPrice, Tier, TierLine, UsageCharge, price_usage, validate_price
from tenure_shared.money import round_half_up

F = Fraction

GRADUATED = MeteredPrice(
    model="tiered",
    tiers=(
        Tier(up_to=F(10), unit_amount=1000),
        Tier(up_to=F(100), unit_amount=800, flat_amount=500),
        Tier(up_to=None, unit_amount=333),
    ),
)
VOLUME = MeteredPrice(
    model="volume",
    tiers=(
        Tier(up_to=F(10), unit_amount=1000),
        Tier(up_to=F(100), unit_amount=800, flat_amount=500),
        Tier(up_to=None, unit_amount=333),
    ),
)


def test_per_unit_fractional_hours():
    charge = price_usage(F(25, 2), MeteredPrice(model="per_unit", unit_amount=8000))
    assert charge == UsageCharge(quantity=F(25, 2), billable_quantity=F(25, 2), amount=100000, tiers=())


def test_per_unit_included_units_and_rounding_once():
    price = MeteredPrice(model="per_unit", unit_amount=3, included_units=F(10))
    charge = price_usage(F(21, 2), price)  # 0.5 billable units x 3 = 1.5 -> 2
    assert (charge.billable_quantity, charge.amount) == (F(1, 2), 2)
    assert price_usage(F(4), price).amount == 0
    assert price_usage(F(4), price).billable_quantity == 0


def test_graduated_splits_across_tiers():
    charge = price_usage(F(150), GRADUATED)
    assert charge.tiers == (
        TierLine(from_units=F(0), to_units=F(10), quantity=F(10), unit_amount=1000, flat_amount=0, amount=F(10000)),
        TierLine(
            from_units=F(10),
            to_units=F(100),
            quantity=F(90),
            unit_amount=800,
            flat_amount=500,
            amount=F(72500),
        ),
        TierLine(from_units=F(100), to_units=None, quantity=F(50), unit_amount=333, flat_amount=0, amount=F(16650)),
    )
    assert charge.amount == 10000 + 72500 + 16650


def test_graduated_upper_bound_is_inclusive_and_flat_only_when_units_fall_in_tier():
    at_bound = price_usage(F(10), GRADUATED)
    assert [line.quantity for line in at_bound.tiers] == [F(10)]
    assert at_bound.amount == 10000
    just_over = price_usage(F(21, 2), GRADUATED)
    assert [line.quantity for line in just_over.tiers] == [F(10), F(1, 2)]
    assert just_over.amount == 10000 + 400 + 500


def test_graduated_rounds_once_not_per_tier():
    price = MeteredPrice(model="tiered", tiers=(Tier(up_to=F(1, 2), unit_amount=1), Tier(up_to=None, unit_amount=1)))
    charge = price_usage(F(6, 5), price)  # 0.5 + 0.7 = 1.2 -> 1 (per-tier rounding would give 1 + 1)
    assert [line.amount for line in charge.tiers] == [F(1, 2), F(7, 10)]
    assert charge.amount == 1


def test_volume_prices_everything_at_the_reached_tier():
    assert price_usage(F(10), VOLUME).amount == 10 * 1000
    charge = price_usage(F(50), VOLUME)
    assert charge.tiers == (
        TierLine(
            from_units=F(10),
            to_units=F(100),
            quantity=F(50),
            unit_amount=800,
            flat_amount=500,
            amount=F(40500),
        ),
    )
    assert charge.amount == 40500
    assert price_usage(F(1000), VOLUME).amount == 333000


def test_zero_usage_is_free_for_every_model():
    for price in (GRADUATED, VOLUME, MeteredPrice(model="package", unit_amount=500, package_size=100)):
        charge = price_usage(F(0), price)
        assert (charge.amount, charge.tiers) == (0, ())


def test_package_rounds_packages_up():
    price = MeteredPrice(model="package", unit_amount=500, package_size=100)
    assert price_usage(F(1), price).amount == 500
    assert price_usage(F(100), price).amount == 500
    assert price_usage(F(201, 2), price).amount == 1000
    assert (
        price_usage(F(250), MeteredPrice(model="package", unit_amount=500, package_size=100, included_units=F(50))).amount == 1000
    )


def test_float_and_negative_quantities_rejected():
    with pytest.raises(TypeError):
        price_usage(12.5, MeteredPrice(model="per_unit", unit_amount=1))
    with pytest.raises(ValueError):
        price_usage(F(-1), MeteredPrice(model="per_unit", unit_amount=1))


@pytest.mark.parametrize(
    "price",
    [
        MeteredPrice(model="per_unit", unit_amount=-1),
        MeteredPrice(model="per_unit", unit_amount=1, included_units=F(-1)),
        MeteredPrice(model="per_unit", unit_amount=1, tiers=(Tier(up_to=None, unit_amount=1),)),
        MeteredPrice(model="package", unit_amount=1, tiers=(Tier(up_to=None, unit_amount=1),)),
        MeteredPrice(model="package", unit_amount=1, package_size=0),
        MeteredPrice(model="tiered"),
        MeteredPrice(model="volume"),
        MeteredPrice(model="tiered", tiers=(Tier(up_to=F(10), unit_amount=1),)),
        MeteredPrice(
            model="tiered",
            tiers=(
                Tier(up_to=F(10), unit_amount=1),
                Tier(up_to=F(10), unit_amount=1),
                Tier(up_to=None, unit_amount=1),
            ),
        ),
        MeteredPrice(
            model="tiered",
            tiers=(
                Tier(up_to=F(10), unit_amount=1),
                Tier(up_to=F(5), unit_amount=1),
                Tier(up_to=None, unit_amount=1),
            ),
        ),
        MeteredPrice(model="volume", tiers=(Tier(up_to=None, unit_amount=1), Tier(up_to=None, unit_amount=1))),
        MeteredPrice(model="volume", tiers=(Tier(up_to=F(0), unit_amount=1), Tier(up_to=None, unit_amount=1))),
        MeteredPrice(model="volume", tiers=(Tier(up_to=F(5), unit_amount=-1), Tier(up_to=None, unit_amount=1))),
        MeteredPrice(
            model="tiered",
            tiers=(Tier(up_to=F(5), unit_amount=1, flat_amount=-1), Tier(up_to=None, unit_amount=1)),
        ),
        MeteredPrice(model="flat", unit_amount=1),
    ],
)
def test_invalid_prices_rejected(price):
    with pytest.raises(ValueError):
        validate_price(price)
    with pytest.raises(ValueError):
        price_usage(F(1), price)


quantities = st.fractions(min_value=0, max_value=10**6, max_denominator=1000)


@st.composite
def tier_tables(draw):
    bounds = sorted(draw(st.sets(st.fractions(min_value=F(1, 100), max_value=10**5, max_denominator=100), max_size=5)))
    ups = [*bounds, None]
    return tuple(Tier(up_to=up, unit_amount=draw(st.integers(0, 10**5)), flat_amount=draw(st.integers(0, 10**4))) for up in ups)


@given(
    quantity=quantities,
    tiers=tier_tables(),
    included=st.fractions(min_value=0, max_value=1000, max_denominator=10),
)
def test_graduated_tiers_partition_billable_and_round_once(quantity, tiers, included):
    price = MeteredPrice(model="tiered", tiers=tiers, included_units=included)
    validate_price(price)
    charge = price_usage(quantity, price)
    assert charge.billable_quantity == max(F(0), quantity - included)
    assert sum((line.quantity for line in charge.tiers), F(0)) == charge.billable_quantity
    assert all(line.quantity > 0 for line in charge.tiers)
    for line in charge.tiers:
        assert line.amount == line.quantity * line.unit_amount + line.flat_amount
    for earlier, later in pairwise(charge.tiers):
        assert earlier.to_units == later.from_units
    assert charge.amount == round_half_up(sum((line.amount for line in charge.tiers), F(0)))


@given(quantity=quantities, tiers=tier_tables())
def test_volume_uses_single_tier_containing_quantity(quantity, tiers):
    charge = price_usage(quantity, MeteredPrice(model="volume", tiers=tiers))
    if quantity == 0:
        assert charge.tiers == () and charge.amount == 0
        return
    (line,) = charge.tiers
    assert line.quantity == quantity
    assert line.from_units < quantity and (line.to_units is None or quantity <= line.to_units)
    assert charge.amount == round_half_up(quantity * line.unit_amount + line.flat_amount)


@given(quantity=quantities, unit_amount=st.integers(0, 10**6), package_size=st.integers(1, 10**4))
def test_package_sanity(quantity, unit_amount, package_size):
    price = MeteredPrice(model="package", unit_amount=unit_amount, package_size=package_size)
    charge = price_usage(quantity, price)
    packages = math.ceil(quantity / package_size)
    assert charge.amount == packages * unit_amount
    assert (packages - 1) * package_size < quantity <= packages * package_size or quantity == 0
    assert price_usage(quantity + F(1, 1000), price).amount >= charge.amount


@given(quantity=quantities, unit_amount=st.integers(0, 10**6))
def test_per_unit_matches_exact_product_rounded_once(quantity, unit_amount):
    charge = price_usage(quantity, MeteredPrice(model="per_unit", unit_amount=unit_amount))
    assert charge.amount == round_half_up(quantity * unit_amount)
    assert charge.tiers == ()


@given(
    quantity=quantities,
    tiers=tier_tables(),
    model=st.sampled_from(["tiered", "volume"]),
    included=st.fractions(min_value=0, max_value=1000, max_denominator=10),
)
def test_no_cent_created_or_lost_the_amount_is_the_exact_total_rounded_once(quantity, tiers, model, included):
    charge = price_usage(quantity, MeteredPrice(model=model, tiers=tiers, included_units=included))
    exact = sum((line.amount for line in charge.tiers), F(0))
    assert -F(1, 2) < charge.amount - exact <= F(1, 2)
