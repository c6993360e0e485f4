"""Ids made in one batch (a bulk write's rows): shaped as new_id makes them, unique."""

from __future__ import annotations

import re

from tenure_shared.ids import new_id, new_ids


def test_a_batch_of_ids_is_shaped_as_new_id_makes_them_and_unique():
    shape = re.compile(r"hsc_[0-9a-f]{12}[0-9a-f]{12}")
    batch = new_ids("hsc", 5000)
    assert len(set(batch)) == 5000 and all(shape.fullmatch(i) for i in batch)
    assert shape.fullmatch(new_id("hsc")) and abs(int(batch[0][4:16], 16) - int(new_id("hsc")[4:16], 16)) < 60_000
    assert new_ids("hsc", 0) == []
