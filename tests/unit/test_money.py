"""tenure_shared.money: half-up rounding and currency facts."""

from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from tenure_shared.money import format_amount, is_known_currency, minor_unit_exponent, round_half_up


def test_round_half_up_examples():
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(-5, 2)) == -3
    assert round_half_up(Fraction(7, 3)) == 2
    assert round_half_up(Fraction(8, 3)) == 3
    assert round_half_up(Fraction(1, 2)) == 1
    assert round_half_up(Fraction(49999, 100000)) == 0
    assert round_half_up(0) == 0
    assert round_half_up(42) == 42
    assert round_half_up(-42) == -42


@given(numerator=st.integers(-(10**15), 10**15), denominator=st.integers(1, 10**6))
def test_round_half_up_matches_decimal(numerator, denominator):
    with localcontext() as ctx:
        # Far more digits than needed: a non-half value is at least 1/(2*denominator) from a tie,
        # and exact ties are representable, so the rounded quotient lands on the same side.
        ctx.prec = 60
        expected = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert round_half_up(Fraction(numerator, denominator)) == int(expected)


def test_is_known_currency():
    assert is_known_currency("USD") is True
    assert is_known_currency("EUR") is True
    assert is_known_currency("usd") is False
    assert is_known_currency("ZZZ") is False


def test_minor_unit_exponent():
    assert minor_unit_exponent("USD") == 2
    assert minor_unit_exponent("JPY") == 0
    assert minor_unit_exponent("BHD") == 3


def test_format_amount():
    assert format_amount(4900, "USD") == "49.00 USD"
    assert format_amount(-5, "USD") == "-0.05 USD"
    assert format_amount(500, "JPY") == "500 JPY"
