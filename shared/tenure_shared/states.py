"""Statuses as enums with their legal moves: a model changes its status only through `move`, so an
illegal move is an error with a code (`illegal_state_transition`) instead of a silent write.

Each service declares its own statuses and moves beside its models; this is only the mechanism.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import TypeVar

from tenure_shared.errors import Conflict

S = TypeVar("S", bound=StrEnum)


class IllegalTransition(Conflict):
    code = "illegal_state_transition"


def move(current: str, to: S, allowed: Mapping[S, Collection[S]], *, what: str) -> S:
    """`to`, if a `what` in status `current` may move there (staying put is always allowed)."""
    source = type(to)(current)
    if to != source and to not in allowed.get(source, ()):
        raise IllegalTransition(f"{what} cannot go from {source.value} to {to.value}.")
    return to
