"""Spending credits on an invoice (oldest first, partial application) and a credit note's status."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenure_credit.credit import OpenCredit, allocate_credits, note_status


def test_oldest_note_is_spent_first_and_the_next_partly():
    credits = [OpenCredit("cn_old", 5000), OpenCredit("cn_mid", 3000), OpenCredit("cn_new", 9000)]
    assert allocate_credits(credits, 6000) == [("cn_old", 5000), ("cn_mid", 1000)]


def test_invoice_smaller_than_one_note_spends_part_of_it():
    assert allocate_credits([OpenCredit("cn_1", 16000)], 3000) == [("cn_1", 3000)]


def test_credit_larger_than_the_invoice_leaves_the_rest_and_empty_notes_are_skipped():
    credits = [OpenCredit("cn_empty", 0), OpenCredit("cn_1", 16000)]
    assert allocate_credits(credits, 30000) == [("cn_1", 16000)]
    assert allocate_credits(credits, 0) == []
    assert allocate_credits([], 30000) == []


def test_invalid_inputs():
    with pytest.raises(ValueError):
        allocate_credits([OpenCredit("cn_1", 100)], -1)
    with pytest.raises(ValueError):
        allocate_credits([OpenCredit("cn_1", -5)], 100)


@given(
    remainders=st.lists(st.integers(0, 10**9), max_size=12),
    amount=st.integers(0, 10**10),
)
def test_allocation_never_creates_or_loses_a_cent(remainders, amount):
    credits = [OpenCredit(f"cn_{i}", r) for i, r in enumerate(remainders)]
    applied = allocate_credits(credits, amount)
    total_applied = sum(a for _, a in applied)
    # Exactly what can be spent is spent: the invoice's amount or every credit, whichever is smaller.
    assert total_applied == min(amount, sum(remainders))
    # Amount due + credits applied = invoice amount; remainders left + applied = remainders before.
    assert (amount - total_applied) + total_applied == amount
    left = {c.credit_note_id: c.remaining for c in credits}
    for note_id, a in applied:
        assert 0 < a <= left[note_id]
        left[note_id] -= a
    assert sum(left.values()) + total_applied == sum(remainders)
    assert all(v >= 0 for v in left.values())
    # Oldest first: every note before the last one touched is used up.
    if applied:
        last = [c.credit_note_id for c in credits].index(applied[-1][0])
        assert all(left[c.credit_note_id] == 0 for c in credits[:last])
    assert len({n for n, _ in applied}) == len(applied)


@given(
    remainders=st.lists(st.integers(0, 10**6), min_size=1, max_size=6),
    invoices=st.lists(st.integers(0, 10**6), min_size=1, max_size=6),
)
def test_successive_invoices_never_spend_more_than_the_notes_hold(remainders, invoices):
    credits = [OpenCredit(f"cn_{i}", r) for i, r in enumerate(remainders)]
    spent = 0
    for amount in invoices:
        applied = dict(allocate_credits(credits, amount))
        spent += sum(applied.values())
        credits = [OpenCredit(c.credit_note_id, c.remaining - applied.get(c.credit_note_id, 0)) for c in credits]
    assert spent == min(sum(invoices), sum(remainders))
    assert sum(c.remaining for c in credits) == sum(remainders) - spent


def test_note_status():
    assert note_status(amount=5000, remaining=5000, refunded=0) == "open"
    assert note_status(amount=5000, remaining=1000, refunded=0) == "partially_applied"
    assert note_status(amount=5000, remaining=0, refunded=0) == "applied"
    assert note_status(amount=5000, remaining=0, refunded=5000) == "refunded"
    assert note_status(amount=5000, remaining=0, refunded=2000) == "refunded"
    assert note_status(amount=5000, remaining=3000, refunded=0, voided=True) == "void"
    with pytest.raises(ValueError):
        note_status(amount=5000, remaining=-1, refunded=0)
    with pytest.raises(ValueError):
        note_status(amount=5000, remaining=5001, refunded=0)
