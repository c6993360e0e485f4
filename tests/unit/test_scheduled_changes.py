"""Changes kept for the end of the term: conflicts by field, merging in order, taking the due ones."""

from datetime import UTC, datetime

import pytest

from tenure_subscription.errors import ScheduledChangeConflict, ScheduledChangeNotFound
from tenure_subscription.models import Subscription
from tenure_subscription.service import scheduled_changes

JULY, AUGUST = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC)


def subscription() -> Subscription:
    return Subscription(id="sub_1", scheduled_changes=[])


def schedule(sub: Subscription, at: datetime = JULY, **fields) -> dict:
    one_time = fields.pop("one_time_addons", [])
    change = {"plan_code": None, "quantity": None, "addons": None, **fields}
    scheduled_changes.check_no_conflict(sub, change)
    return scheduled_changes.add(sub, one_time_addons=one_time, effective_at=at, **change)


def test_a_second_change_of_the_same_field_conflicts_and_changes_nothing():
    sub = subscription()
    first = schedule(sub, plan_code="basic")
    with pytest.raises(ScheduledChangeConflict) as refused:
        schedule(sub, plan_code="pro")
    assert refused.value.code == "scheduled_change_conflict"
    assert refused.value.extra == {"scheduled_change_id": first["id"]}
    assert sub.scheduled_changes == [first]


def test_changes_of_other_fields_merge_in_order_and_only_due_ones_are_taken():
    sub = subscription()
    schedule(sub, plan_code="basic", one_time_addons=[{"code": "setup", "quantity": 1}])
    schedule(sub, quantity=3)
    later = schedule(sub, AUGUST, addons=[{"code": "seats", "quantity": 2}])
    due = scheduled_changes.take_due(sub, JULY)
    assert (due["plan_code"], due["quantity"], due.get("addons"), due["one_time_addons"]) == (
        "basic",
        3,
        None,
        [{"code": "setup", "quantity": 1}],
    )
    assert len(due["ids"]) == 2
    assert sub.scheduled_changes == [later]
    assert scheduled_changes.take_due(sub, JULY) is None


def test_removing_a_change_makes_room_and_an_unknown_one_is_refused():
    sub = subscription()
    first = schedule(sub, plan_code="basic")
    assert scheduled_changes.remove(sub, first["id"]) == first
    schedule(sub, plan_code="pro")
    with pytest.raises(ScheduledChangeNotFound):
        scheduled_changes.remove(sub, "sch_nope")
