"""Reminders as due work on the subscription's clock: `subscription.renewal_upcoming` at each of the
account's `renewal_reminder_days` before the renewal of a subscription billed less often than monthly
(with the amount the renewal will bill), and `subscription.trial_will_end` 3 days before a trial ends
(at once for a shorter trial).

Each reminder is a job keyed by subscription, period end and offset. Its timeline entry is the guard:
the same key scheduled again (a period re-scheduled) never sends a reminder twice, and a reminder for a
period that moved, or for a subscription that is cancelling, sends nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.due_work import ScheduledJob, schedule_job
from tenure_subscription import repository
from tenure_subscription.models import Plan, Subscription, TimelineEntry
from tenure_subscription.service import lifecycle, upcoming  # a cycle: lifecycle schedules these reminders

RENEWAL_REMINDER = "renewal_reminder"
TRIAL_REMINDER = "trial_reminder"
TRIAL_REMINDER_DAYS = 3


def billed_less_often_than_monthly(plan: Plan) -> bool:
    return plan.interval == "year" or (plan.interval == "month" and plan.interval_count > 1)


def reminder_times(period_start: datetime, period_end: datetime, days_before: Sequence[int]) -> list[tuple[int, datetime]]:
    """(offset, when) for each offset that falls inside the period, earliest first."""
    times = {days: period_end - timedelta(days=days) for days in set(days_before)}
    return sorted(((days, at) for days, at in times.items() if at >= period_start), key=lambda item: item[1])


async def schedule_renewal_reminders(session: AsyncSession, subscription: Subscription) -> None:
    plan = await repository.get_plan(session, subscription.plan_code)
    if not billed_less_often_than_monthly(plan) or subscription.on_free_plan:
        return
    settings = await repository.get_settings(session)
    start, end = subscription.current_period()
    period_end = end.isoformat()
    for days, at in reminder_times(start, end, settings.renewal_reminder_days):
        await schedule_job(
            session,
            kind=RENEWAL_REMINDER,
            key=f"reminder:{subscription.id}:{period_end}:{days}",
            due_at=at,
            clock_id=subscription.clock_id,
            payload={"subscription_id": subscription.id, "period_end": period_end, "days_before": days},
        )


async def _already_sent(session: AsyncSession, subscription_id: str, event_type: str, payload: dict) -> bool:
    return (
        await session.scalar(
            select(TimelineEntry.id)
            .where(TimelineEntry.subscription_id == subscription_id, TimelineEntry.event_type == event_type)
            .where(TimelineEntry.data["period_end"].astext == payload["period_end"])
            .where(TimelineEntry.data["days_before"].as_integer() == payload["days_before"])
            .limit(1)
        )
    ) is not None


async def _still_due(session: AsyncSession, job: ScheduledJob, event_type: str, status: str) -> Subscription | None:
    """The subscription, if this reminder is still owed: same period, not cancelling, not yet sent."""
    subscription = await repository.get_subscription(session, job.payload["subscription_id"], for_update=True)
    if subscription.status != status or subscription.cancel_at_period_end:
        return None
    if subscription.current_period()[1].isoformat() != job.payload["period_end"]:
        return None
    if await _already_sent(session, subscription.id, event_type, job.payload):
        return None
    return subscription


async def send_renewal_reminder(session: AsyncSession, job: ScheduledJob) -> None:
    subscription = await _still_due(session, job, "renewal_upcoming", "active")
    if subscription is None:
        return
    renewal, _, _ = await upcoming.next_renewal(session, subscription_id=subscription.id)
    await session.refresh(subscription)  # the rolled-back preview expired it
    expected = sum(line.amount for line in renewal.bill_lines)
    await lifecycle.announce(
        session,
        subscription,
        "renewal_upcoming",
        job.due_at,
        plan=await repository.get_plan(session, subscription.plan_code),
        customer=await repository.get_customer(session, subscription.customer_id),
        expected_amount=expected,
        details={**job.payload, "expected_amount": expected, "currency": renewal.currency},
    )


async def schedule_trial_reminder(session: AsyncSession, subscription: Subscription) -> None:
    """`trial_will_end` 3 days before the trial ends, or at its start when it is shorter."""
    trial_end = subscription.trial_end
    assert trial_end is not None  # scheduled with the trial end, for a trialing subscription
    due_at = max(trial_end - timedelta(days=TRIAL_REMINDER_DAYS), subscription.current_period()[0])
    await schedule_job(
        session,
        kind=TRIAL_REMINDER,
        key=f"trial_reminder:{subscription.id}:{trial_end.isoformat()}",
        due_at=due_at,
        clock_id=subscription.clock_id,
        payload={"subscription_id": subscription.id, "period_end": trial_end.isoformat(), "days_before": TRIAL_REMINDER_DAYS},
    )


async def send_trial_reminder(session: AsyncSession, job: ScheduledJob) -> None:
    subscription = await _still_due(session, job, "trial_will_end", "trialing")
    if subscription is None:
        return
    await lifecycle.announce(
        session,
        subscription,
        "trial_will_end",
        job.due_at,
        plan=await repository.get_plan(session, subscription.plan_code),
        customer=await repository.get_customer(session, subscription.customer_id),
        details={**job.payload, "trial_end": job.payload["period_end"]},
    )
