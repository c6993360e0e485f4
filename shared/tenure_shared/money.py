"""Money: integer minor units plus an ISO 4217 code. Never floats.

Arithmetic that divides (proration, credits, usage prices) is done on `Fraction`s and rounded
half-up exactly once, at the end, with `round_half_up`.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Annotated

from babel.numbers import get_currency_precision, list_currencies
from pydantic import AfterValidator, Field, StrictInt
from pydantic_core import PydanticCustomError

from tenure_shared.errors import coded_error


@lru_cache(maxsize=1)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def is_known_currency(code: str) -> bool:
    """True for an ISO 4217 alphabetic code babel knows (upper case only)."""
    return code.isupper() and code in _known_currencies()


def minor_unit_exponent(currency: str) -> int:
    """Digits after the decimal point for the currency: 2 for USD, 0 for JPY, 3 for BHD."""
    return get_currency_precision(currency)


def round_half_up(value: Fraction | int) -> int:
    """Round an exact quantity of minor units to an integer, halves away from zero."""
    value = Fraction(value)
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    whole, remainder = divmod(magnitude.numerator, magnitude.denominator)
    if 2 * remainder >= magnitude.denominator:
        whole += 1
    return sign * whole


def format_amount(amount: int, currency: str) -> str:
    """Human form for descriptions and logs, e.g. 4900 USD -> '49.00 USD'."""
    exponent = minor_unit_exponent(currency)
    if exponent == 0:
        return f"{amount} {currency}"
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**exponent)
    return f"{sign}{whole}.{fraction:0{exponent}d} {currency}"


def _check_currency(code: str) -> str:
    if not is_known_currency(code):
        raise coded_error("invalid_currency", f"{code!r} is not an ISO 4217 currency code (upper case, e.g. USD).")
    return code


def _check_amount(amount: int) -> int:
    if amount < 0:
        raise coded_error("negative_amount", "Amounts are non-negative integers in minor units.")
    return amount


def _check_not_zero(amount: int) -> int:
    if amount == 0:
        raise PydanticCustomError("greater_than", "The amount must be more than 0.")
    return amount


# Request-field types: strict integers (a float is refused, never rounded) and real currency codes.
# A negative amount is always `negative_amount`, also where 0 is refused too (PositiveAmount).
CurrencyCode = Annotated[str, AfterValidator(_check_currency)]
Amount = Annotated[StrictInt, Field(json_schema_extra={"minimum": 0}), AfterValidator(_check_amount)]
PositiveAmount = Annotated[
    StrictInt, Field(json_schema_extra={"exclusiveMinimum": 0}), AfterValidator(_check_amount), AfterValidator(_check_not_zero)
]
