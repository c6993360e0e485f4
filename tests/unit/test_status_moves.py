"""Each service's statuses move only along their legal moves (what the models' move_to enforces)."""

import pytest

from tenure_credit.statuses import NOTE_MOVES, REFUND_MOVES, NoteStatus, RefundStatus
from tenure_dunning.statuses import CASE_MOVES, CaseStatus
from tenure_invoicing.statuses import INVOICE_MOVES, InvoiceStatus
from tenure_notification.statuses import DELIVERY_MOVES, EMAIL_MOVES, DeliveryStatus, EmailStatus
from tenure_shared.states import IllegalTransition, move
from tenure_subscription.statuses import SUBSCRIPTION_MOVES, SubscriptionStatus

LEGAL_THEN_ILLEGAL = [
    # a paused subscription resumes before it can expire; a cancelled one is reactivated, never paused
    (SUBSCRIPTION_MOVES, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED, SubscriptionStatus.EXPIRED),
    (SUBSCRIPTION_MOVES, SubscriptionStatus.TRIALING, SubscriptionStatus.CANCELLED, SubscriptionStatus.PAUSED),
    (INVOICE_MOVES, InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.VOID),  # a paid invoice is never voided
    (CASE_MOVES, CaseStatus.RETRYING, CaseStatus.EXHAUSTED, CaseStatus.RETRYING),  # a closed case stays closed
    (NOTE_MOVES, NoteStatus.OPEN, NoteStatus.VOID, NoteStatus.OPEN),  # void is final
    (REFUND_MOVES, RefundStatus.PENDING, RefundStatus.SUCCEEDED, RefundStatus.FAILED),  # settled once
    (DELIVERY_MOVES, DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.SUCCEEDED),  # only through a retry
    (EMAIL_MOVES, EmailStatus.PENDING, EmailStatus.SENT, EmailStatus.FAILED),
]


@pytest.mark.parametrize(("moves", "start", "legal", "then_illegal"), LEGAL_THEN_ILLEGAL)
def test_a_legal_move_then_an_illegal_one(moves, start, legal, then_illegal):
    assert move(start, legal, moves, what="It") == legal
    with pytest.raises(IllegalTransition):
        move(legal, then_illegal, moves, what="It")


def test_a_credit_note_moves_freely_between_its_live_statuses():
    for source in (NoteStatus.OPEN, NoteStatus.PARTIALLY_APPLIED, NoteStatus.APPLIED, NoteStatus.REFUNDED):
        for target in NoteStatus:
            assert move(source, target, NOTE_MOVES, what="The note") == target


def test_a_suppressed_email_is_never_sent():
    with pytest.raises(IllegalTransition):
        move(EmailStatus.SUPPRESSED, EmailStatus.SENT, EMAIL_MOVES, what="The email")
