"""Changes asked for at end of term, kept on the subscription until its renewal applies them.

Each pending change names only what it changes (`plan_code`, `quantity`, `addons`); two pending
changes of one subscription may not touch the same field. The renewal at the change's
`effective_at` applies every due change, in the order they were asked for, before it bills.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tenure_shared.ids import new_id
from tenure_subscription.errors import ScheduledChangeConflict, ScheduledChangeNotFound
from tenure_subscription.models import Subscription

FIELDS = ("plan_code", "quantity", "addons")


def pending(subscription: Subscription) -> list[dict[str, Any]]:
    return list(subscription.scheduled_changes or [])


def check_no_conflict(subscription: Subscription, change: dict[str, Any]) -> None:
    """Refuse a change touching a field another pending change already sets."""
    for other in pending(subscription):
        clash = [f for f in FIELDS if change.get(f) is not None and other.get(f) is not None]
        if clash:
            raise ScheduledChangeConflict(
                f"Scheduled change {other['id']} already sets {', '.join(clash)} at {other['effective_at']}; cancel it first.",
                scheduled_change_id=other["id"],
            )


def add(
    subscription: Subscription,
    *,
    plan_code: str | None,
    quantity: int | None,
    addons: list[dict[str, Any]] | None,
    one_time_addons: list[dict[str, Any]],
    effective_at: datetime,
) -> dict[str, Any]:
    """Keep a change for the end of the term (conflicts must have been checked)."""
    change = {
        "id": new_id("sch"),
        "plan_code": plan_code,
        "quantity": quantity,
        "addons": addons,
        "one_time_addons": one_time_addons,
        "effective_at": effective_at.isoformat(),
    }
    subscription.scheduled_changes = [*pending(subscription), change]
    return change


def remove(subscription: Subscription, change_id: str) -> dict[str, Any]:
    """Drop one pending change."""
    changes = pending(subscription)
    change = next((c for c in changes if c["id"] == change_id), None)
    if change is None:
        raise ScheduledChangeNotFound(f"Subscription {subscription.id} has no pending change {change_id}.")
    subscription.scheduled_changes = [c for c in changes if c["id"] != change_id]
    return change


def merge(changes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The combined effect of pending changes (later fields win; one-time add-ons add up)."""
    if not changes:
        return None
    merged: dict[str, Any] = {"ids": [c["id"] for c in changes], "one_time_addons": []}
    for change in changes:
        for field in FIELDS:
            if change.get(field) is not None:
                merged[field] = change[field]
        merged["one_time_addons"] += change.get("one_time_addons") or []
    return merged


def take_due(subscription: Subscription, at: datetime) -> dict[str, Any] | None:
    """Remove and merge the changes due at or before `at`."""
    changes = pending(subscription)
    due = [c for c in changes if datetime.fromisoformat(c["effective_at"]) <= at]
    subscription.scheduled_changes = [c for c in changes if c not in due]
    return merge(due)
