"""Usage pricing: per-unit, graduated tiers, volume tiers and packages, exact until one final rounding."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from tenure_shared.money import round_half_up

Model = Literal["per_unit", "tiered", "volume", "package"]


@dataclass(frozen=True)
class Tier:
    """A price tier up to an inclusive cumulative unit bound (None = no upper bound)."""

    up_to: Fraction | None
    unit_amount: int
    flat_amount: int = 0


@dataclass(frozen=True)
class MeteredPrice:
    """How a metered quantity is priced."""

    model: Model
    unit_amount: int = 0
    included_units: Fraction = Fraction(0)
    tiers: tuple[Tier, ...] = ()
    package_size: int = 1


@dataclass(frozen=True)
class TierLine:
    """The units that fell into one tier and their exact, unrounded amount."""

    from_units: Fraction
    to_units: Fraction | None
    quantity: Fraction
    unit_amount: int
    flat_amount: int
    amount: Fraction


@dataclass(frozen=True)
class UsageCharge:
    """The priced usage: amount in minor units plus the tier breakdown behind it."""

    quantity: Fraction
    billable_quantity: Fraction
    amount: int
    tiers: tuple[TierLine, ...]


def validate_price(price: MeteredPrice) -> None:
    """Raise ValueError if the metered price is inconsistent."""
    if price.model not in ("per_unit", "tiered", "volume", "package"):
        raise ValueError(f"unknown pricing model {price.model!r}")
    if price.unit_amount < 0:
        raise ValueError("unit_amount must not be negative")
    if price.included_units < 0:
        raise ValueError("included_units must not be negative")
    if isinstance(price.package_size, bool) or not isinstance(price.package_size, int):
        raise ValueError("package_size must be an integer")
    if price.package_size < 1:
        raise ValueError("package_size must be >= 1")
    if price.model in ("per_unit", "package"):
        if price.tiers:
            raise ValueError(f"{price.model} prices take no tiers")
        return
    if not price.tiers:
        raise ValueError(f"{price.model} prices need at least one tier")
    previous = Fraction(0)
    for index, tier in enumerate(price.tiers):
        if tier.unit_amount < 0 or tier.flat_amount < 0:
            raise ValueError("tier amounts must not be negative")
        is_last = index == len(price.tiers) - 1
        if tier.up_to is None:
            if not is_last:
                raise ValueError("only the last tier may be open-ended")
            continue
        if is_last:
            raise ValueError("the last tier must be open-ended (up_to=None)")
        if Fraction(tier.up_to) <= previous:
            raise ValueError("tier bounds must be positive and strictly increasing")
        previous = Fraction(tier.up_to)


def _graduated(billable: Fraction, tiers: tuple[Tier, ...]) -> tuple[TierLine, ...]:
    """Split the billable quantity across consecutive tiers, each priced at its own rate."""
    lines = []
    lower = Fraction(0)
    for tier in tiers:
        if billable <= lower:
            break
        upper = None if tier.up_to is None else Fraction(tier.up_to)
        quantity = billable - lower if upper is None else min(billable, upper) - lower
        lines.append(
            TierLine(
                from_units=lower,
                to_units=upper,
                quantity=quantity,
                unit_amount=tier.unit_amount,
                flat_amount=tier.flat_amount,
                amount=quantity * tier.unit_amount + tier.flat_amount,
            )
        )
        if upper is None:
            break
        lower = upper
    return tuple(lines)


def _volume(billable: Fraction, tiers: tuple[Tier, ...]) -> tuple[TierLine, ...]:
    """Price the whole billable quantity at the rate of the tier it falls in."""
    if billable == 0:
        return ()
    lower = Fraction(0)
    for tier in tiers:
        upper = None if tier.up_to is None else Fraction(tier.up_to)
        if upper is None or billable <= upper:
            return (
                TierLine(
                    from_units=lower,
                    to_units=upper,
                    quantity=billable,
                    unit_amount=tier.unit_amount,
                    flat_amount=tier.flat_amount,
                    amount=billable * tier.unit_amount + tier.flat_amount,
                ),
            )
        lower = upper
    raise ValueError("no tier covers the quantity")  # unreachable for a validated price


def price_usage(quantity: Fraction, price: MeteredPrice) -> UsageCharge:
    """Price a metered quantity (possibly fractional) and round half-up once at the end."""
    if isinstance(quantity, float):
        raise TypeError("quantity must be exact (Fraction, int or Decimal), not float")
    validate_price(price)
    quantity = Fraction(quantity)
    if quantity < 0:
        raise ValueError("quantity must not be negative")
    billable = max(Fraction(0), quantity - Fraction(price.included_units))
    lines: tuple[TierLine, ...] = ()
    if price.model == "per_unit":
        exact = billable * price.unit_amount
    elif price.model == "package":
        exact = Fraction(math.ceil(billable / price.package_size) * price.unit_amount)
    elif price.model == "tiered":
        lines = _graduated(billable, price.tiers)
        exact = sum((line.amount for line in lines), Fraction(0))
    else:
        lines = _volume(billable, price.tiers)
        exact = sum((line.amount for line in lines), Fraction(0))
    return UsageCharge(
        quantity=quantity,
        billable_quantity=billable,
        amount=round_half_up(exact),
        tiers=lines,
    )
