"""The id of a billing event's invoice is derived from the event's id."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tenure_invoicing.service import invoice_id_for_event
from tenure_shared.ids import new_id

ID_FORM = re.compile(r"^inv_[0-9a-f]{24}$")


def test_the_same_event_always_gets_the_same_invoice_id():
    event_id = new_id("evt")
    assert invoice_id_for_event(event_id) == invoice_id_for_event(event_id)
    assert ID_FORM.match(invoice_id_for_event(event_id))


def test_invoice_ids_keep_the_order_the_events_were_made_in():
    earlier, later = "evt_0000000001aa" + "0" * 12, "evt_0000000002aa" + "f" * 12
    assert invoice_id_for_event(earlier) < invoice_id_for_event(later)
    assert invoice_id_for_event(earlier)[4:16] == earlier[4:16]


@given(st.text(min_size=1), st.text(min_size=1))
def test_different_events_get_different_invoice_ids(first, second):
    if first != second:
        assert invoice_id_for_event(first) != invoice_id_for_event(second)
    assert ID_FORM.match(invoice_id_for_event(first))
