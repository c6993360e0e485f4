"""credit-svc's statuses and their legal moves (the models change status only through them)."""

from __future__ import annotations

from enum import StrEnum


class NoteStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_APPLIED = "partially_applied"
    APPLIED = "applied"
    REFUNDED = "refunded"
    VOID = "void"


# Applying, reversing (a voided invoice gives its credit back) and a failed refund move a note between
# its live statuses in any direction; void is final.
_LIVE = {NoteStatus.OPEN, NoteStatus.PARTIALLY_APPLIED, NoteStatus.APPLIED, NoteStatus.REFUNDED}
NOTE_MOVES = {status: (_LIVE - {status}) | {NoteStatus.VOID} for status in _LIVE}


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


REFUND_MOVES = {RefundStatus.PENDING: {RefundStatus.SUCCEEDED, RefundStatus.FAILED}}
