"""Credit arithmetic, pure: the credit for paid days a subscription spends paused (by calendar day in
the account's timezone), spending open credits on an invoice oldest first, and a note's status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from tenure_credit.statuses import NoteStatus
from tenure_shared.money import round_half_up


@dataclass(frozen=True)
class PauseCredit:
    """Unused paid days of a period lost to a pause and the credit owed for them."""

    unused_days: int
    period_days: int
    amount: int


def pause_credit(
    *,
    period_amount: int,
    period_start: datetime,
    period_end: datetime,
    pause_at: datetime,
    resume_at: datetime | None,
    tz: str = "UTC",
) -> PauseCredit:
    """Credit for [pause day, min(resume day, period end)); resume_at None means paused past the end."""
    if period_amount < 0:
        raise ValueError("period_amount must not be negative")
    if pause_at < period_start:
        raise ValueError("pause_at must not be before period_start")
    if resume_at is not None and resume_at < pause_at:
        raise ValueError("resume_at must not be before pause_at")
    zone = ZoneInfo(tz)
    start_day = period_start.astimezone(zone).date()
    end_day = period_end.astimezone(zone).date()
    period_days = (end_day - start_day).days
    if period_days <= 0:
        raise ValueError("period must span at least one calendar day")
    pause_day = pause_at.astimezone(zone).date()
    # The resume day is a live day again, so it is not credited.
    stop_day = end_day if resume_at is None else min(resume_at.astimezone(zone).date(), end_day)
    unused_days = max(0, (stop_day - pause_day).days)
    amount = round_half_up(Fraction(period_amount) * unused_days / period_days)
    return PauseCredit(unused_days=unused_days, period_days=period_days, amount=amount)


@dataclass(frozen=True)
class OpenCredit:
    """A credit note's spendable remainder, in the order credits are spent (oldest first)."""

    credit_note_id: str
    remaining: int


def allocate_credits(credits: Sequence[OpenCredit], amount: int) -> list[tuple[str, int]]:
    """Spend up to `amount` from `credits` in the given order, each note fully before the next.

    Returns (credit_note_id, applied) pairs with applied > 0; their sum is min(amount, total remaining).
    """
    if amount < 0:
        raise ValueError("amount must not be negative")
    applied: list[tuple[str, int]] = []
    left = amount
    for credit in credits:
        if credit.remaining < 0:
            raise ValueError("a credit's remaining amount must not be negative")
        if left == 0:
            break
        take = min(left, credit.remaining)
        if take:
            applied.append((credit.credit_note_id, take))
            left -= take
    return applied


def note_status(*, amount: int, remaining: int, refunded: int, voided: bool = False) -> NoteStatus:
    """A credit note's status from its figures: untouched, partly used, or used up (refunds win)."""
    if not 0 <= remaining <= amount:
        raise ValueError("remaining must lie between 0 and the note's amount")
    if voided:
        return NoteStatus.VOID
    if remaining == amount:
        return NoteStatus.OPEN
    if remaining > 0:
        return NoteStatus.PARTIALLY_APPLIED
    return NoteStatus.REFUNDED if refunded > 0 else NoteStatus.APPLIED
