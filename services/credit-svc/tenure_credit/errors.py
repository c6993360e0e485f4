"""credit-svc's refusals, each with a stable code."""

from __future__ import annotations

from tenure_shared.errors import Conflict, InvalidRequest, NotFound


class CreditNoteNotFound(NotFound):
    code = "credit_note_not_found"


class CustomerNotFound(NotFound):
    code = "customer_not_found"


class CurrencyMismatch(InvalidRequest):
    code = "currency_mismatch"


class CreditNoteNotVoidable(Conflict):
    code = "credit_note_not_voidable"


class CreditNoteNotRefundable(Conflict):
    code = "credit_note_not_refundable"


class RefundExceedsRemaining(InvalidRequest):
    code = "refund_exceeds_remaining"


class InvalidPauseWindow(InvalidRequest):
    code = "invalid_pause_window"
