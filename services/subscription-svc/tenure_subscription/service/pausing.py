"""Pause and resume. A pause starts now, backdated (within the current period, after the last resume)
or in the future (a due job); with a resume date the resume is a due job too. A paused subscription
renews nothing and gives no access.

The credit for the unused paid days `[pause day, min(resume day, period end))` is asked for at resume
(never at pause) as a `CreditRequest` on `subscription.resumed`: credit-svc prices it with its pure
`pause_credit` (the one place of that arithmetic) and issues the note. In-term resume keeps the
billing dates; out-of-term resume first puts in force the changes scheduled for the end of the paused
term, then starts a new period on the resume day, billed by the same event, and invoicing spends the
pause credit on that invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.clock import business_now
from tenure_shared.due_work import cancel_job, schedule_job
from tenure_shared.events import ChargeLine, CreditRequest, PauseWindow
from tenure_shared.internal_http import InternalClient
from tenure_subscription import repository
from tenure_subscription.calendar import period_containing
from tenure_subscription.errors import (
    PauseBeforeCurrentPeriod,
    PauseBeforeLastResume,
    ResumeBeforePause,
    ResumeInPast,
    SubscriptionAlreadyPaused,
    SubscriptionNotPausable,
    SubscriptionNotPaused,
)
from tenure_subscription.models import Subscription
from tenure_subscription.service import discounts, lifecycle, scheduled_changes
from tenure_subscription.statuses import SubscriptionStatus

PAUSE_START = "pause_start"
RESUME = "scheduled_resume"


def _pause_key(subscription_id: str) -> str:
    return f"{PAUSE_START}:{subscription_id}"


def _resume_key(subscription_id: str) -> str:
    return f"{RESUME}:{subscription_id}"


def access(subscription: Subscription) -> Literal["full", "none"]:
    """What the customer may use now: the plan's features, or nothing while paused or ended."""
    return "none" if subscription.status in ("paused", "cancelled", "expired") else "full"


@dataclass(frozen=True)
class CreditFigure:
    """A pause credit as credit-svc computes it."""

    unused_days: int
    period_days: int
    amount: int
    currency: str


@dataclass(frozen=True)
class PauseOutcome:
    subscription: Subscription
    credit_preview: CreditFigure | None


def _check_pausable(subscription: Subscription, *, pause_at: datetime, resume_at: datetime | None, now: datetime) -> None:
    """Every refusal of a pause, before anything changes."""
    if subscription.status == "paused" or subscription.pause_at is not None:
        raise SubscriptionAlreadyPaused(f"Subscription {subscription.id} is already paused (or has a pause scheduled).")
    if subscription.status != "active":
        raise SubscriptionNotPausable(f"A {subscription.status} subscription cannot be paused.")
    if subscription.cancel_at_period_end:
        raise SubscriptionNotPausable("The subscription ends at its period end; it cannot be paused.")
    period_start = subscription.current_period()[0]
    if pause_at < period_start:
        raise PauseBeforeCurrentPeriod(
            f"pause_at {pause_at.isoformat()} is before the current period ({period_start.isoformat()})."
        )
    if subscription.last_resumed_at is not None and pause_at < subscription.last_resumed_at:
        raise PauseBeforeLastResume(
            f"pause_at {pause_at.isoformat()} is before the last resume ({subscription.last_resumed_at.isoformat()})."
        )
    _check_resume_at(resume_at, pause_at=pause_at, now=now)


def pause_start(subscription: Subscription) -> datetime:
    """When the pause in force began: a paused subscription has pause_at (set with the pause, cleared by the resume)."""
    assert subscription.pause_at is not None, f"subscription {subscription.id} is paused without a pause_at"
    return subscription.pause_at


def _check_resume_at(resume_at: datetime | None, *, pause_at: datetime, now: datetime) -> None:
    if resume_at is None:
        return
    if resume_at <= pause_at:
        raise ResumeBeforePause(f"resume_at {resume_at.isoformat()} must be after pause_at {pause_at.isoformat()}.")
    if resume_at < now:
        raise ResumeInPast(f"resume_at {resume_at.isoformat()} is in the past (now is {now.isoformat()}).")


async def pause_window(
    session: AsyncSession, subscription: Subscription, *, pause_at: datetime, resume_at: datetime | None
) -> PauseWindow:
    """The paid period a pause starting at `pause_at` falls in, its price, and the paused span.

    A pause after the current period falls in a later period of the same plan (it renews first).
    Open-ended (no resume_at): paused to the period's end.
    """
    plan = await repository.get_plan(session, subscription.plan_code)
    tz = (await repository.get_settings(session)).timezone
    start, end = subscription.current_period()
    if pause_at >= end:
        anchor = subscription.billing_anchor
        assert anchor is not None  # only an active subscription pauses, and its paid period set the anchor
        start, end = period_containing(anchor, plan.interval, plan.interval_count, pause_at, tz)
    return PauseWindow(
        period_amount=await discounts.period_amount(session, subscription, plan, start, end),  # after discounts
        period_start=start,
        period_end=end,
        pause_at=max(pause_at, start),
        resume_at=resume_at or end,
        timezone=tz,
    )


async def credit_figure(internal: InternalClient, window: PauseWindow, currency: str) -> CreditFigure:
    """Ask credit-svc what the window earns: the arithmetic lives there only."""
    answer = await internal.request(
        "credit", "POST", "/internal/credit-previews", json={"currency": currency, "window": window.model_dump(mode="json")}
    )
    return CreditFigure(
        unused_days=answer["unused_days"], period_days=answer["period_days"], amount=answer["amount"], currency=currency
    )


async def describe_pause(
    session: AsyncSession, *, subscription_id: str, pause_at: datetime | None, resume_at: datetime | None
) -> tuple[str, PauseWindow, datetime | None]:
    """For credit-svc's public preview: (currency, window, resume_at) of a pause, checked like a real one.

    For a paused subscription: its actual pause, resumed at `resume_at` (default now).
    """
    subscription = await repository.get_subscription(session, subscription_id)
    plan = await repository.get_plan(session, subscription.plan_code)
    now = await business_now(session, subscription.clock_id)
    if subscription.status == "paused":
        resume_at = resume_at or subscription.resume_at or now
        pause_at = pause_start(subscription)
        _check_resume_at(resume_at, pause_at=pause_at, now=now)
    else:
        pause_at = pause_at or now
        _check_pausable(subscription, pause_at=pause_at, resume_at=resume_at, now=now)
    return plan.currency, await pause_window(session, subscription, pause_at=pause_at, resume_at=resume_at), resume_at


async def pause_subscription(
    session: AsyncSession,
    *,
    subscription_id: str,
    pause_at: datetime | None,
    resume_at: datetime | None,
    internal: InternalClient,
) -> PauseOutcome:
    """Pause now, backdated or later; with resume_at schedule the resume and preview the credit."""
    subscription = await repository.get_subscription(session, subscription_id)
    now = await business_now(session, subscription.clock_id)
    pause_at = pause_at or now
    _check_pausable(subscription, pause_at=pause_at, resume_at=resume_at, now=now)
    preview = None
    if resume_at is not None:  # asked before the subscription is locked: no lock is held across the call
        plan = await repository.get_plan(session, subscription.plan_code)
        window = await pause_window(session, subscription, pause_at=pause_at, resume_at=resume_at)
        preview = await credit_figure(internal, window, plan.currency)
    await session.refresh(subscription, with_for_update=True)
    _check_pausable(subscription, pause_at=pause_at, resume_at=resume_at, now=now)  # again, under the lock
    subscription.pause_at, subscription.resume_at = pause_at, resume_at
    if pause_at <= now:
        await _start_pause(session, subscription, at=pause_at)
    else:
        await schedule_job(
            session,
            kind=PAUSE_START,
            key=_pause_key(subscription.id),
            due_at=pause_at,
            clock_id=subscription.clock_id,
            payload={"subscription_id": subscription.id},
        )
        await _announce(session, subscription, "pause_scheduled", now)
    if resume_at is not None:
        if resume_at <= now:  # a pause wholly in the past ends at once
            await _resume(session, subscription, at=resume_at)
        else:
            await _schedule_resume(session, subscription, resume_at)
    return PauseOutcome(subscription, preview)


async def resume_subscription(
    session: AsyncSession, *, subscription_id: str, resume_at: datetime | None, internal: InternalClient
) -> PauseOutcome:
    """Resume now (crediting the unused paid days) or schedule the resume for `resume_at`.

    A pause that has not started yet is called off instead.
    """
    subscription = await repository.get_subscription(session, subscription_id)
    now = await business_now(session, subscription.clock_id)
    at = resume_at or now
    preview = None
    if subscription.status == "paused":  # the preview is asked before the subscription is locked
        _check_resume_at(at, pause_at=pause_start(subscription), now=now)
        plan = await repository.get_plan(session, subscription.plan_code)
        preview = await credit_figure(
            internal, await pause_window(session, subscription, pause_at=pause_start(subscription), resume_at=at), plan.currency
        )
    await session.refresh(subscription, with_for_update=True)
    if subscription.status == "active" and subscription.pause_at is not None and resume_at is None:
        return PauseOutcome(await _call_off_scheduled_pause(session, subscription, now), None)
    if subscription.status != "paused":
        raise SubscriptionNotPaused(f"Subscription {subscription.id} is {subscription.status}, not paused.")
    _check_resume_at(at, pause_at=pause_start(subscription), now=now)
    if at > now:
        subscription.resume_at = at
        await _schedule_resume(session, subscription, at)
        await _announce(session, subscription, "resume_scheduled", now)
    else:
        await _resume(session, subscription, at=at)
    return PauseOutcome(subscription, preview)


async def start_scheduled_pause(session: AsyncSession, *, subscription_id: str, due_at: datetime) -> None:
    """Due job: a future pause begins (unless it was called off or the subscription moved on)."""
    subscription = await repository.get_subscription(session, subscription_id, for_update=True)
    if subscription.status == "active" and subscription.pause_at == due_at:
        await _start_pause(session, subscription, at=due_at)


async def run_scheduled_resume(session: AsyncSession, *, subscription_id: str, due_at: datetime) -> None:
    """Due job: the resume asked for at pause (or later) time."""
    subscription = await repository.get_subscription(session, subscription_id, for_update=True)
    if subscription.status == "paused" and subscription.resume_at == due_at:
        await _resume(session, subscription, at=due_at)


async def _announce(session: AsyncSession, subscription: Subscription, verb: str, at: datetime, **kwargs) -> None:
    plan = await repository.get_plan(session, subscription.plan_code)
    customer = await repository.get_customer(session, subscription.customer_id)
    details = {"pause_at": _iso(subscription.pause_at), "resume_at": _iso(subscription.resume_at), **kwargs.pop("details", {})}
    await lifecycle.announce(session, subscription, verb, at, plan=plan, customer=customer, details=details, **kwargs)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def _schedule_resume(session: AsyncSession, subscription: Subscription, at: datetime) -> None:
    await schedule_job(
        session,
        kind=RESUME,
        key=_resume_key(subscription.id),
        due_at=at,
        clock_id=subscription.clock_id,
        payload={"subscription_id": subscription.id},
    )


async def _start_pause(session: AsyncSession, subscription: Subscription, *, at: datetime) -> None:
    # The renewal job, if it comes due while paused, finds the subscription not active and does nothing.
    subscription.move_to(SubscriptionStatus.PAUSED)
    await _announce(session, subscription, "paused", at)


async def _call_off_scheduled_pause(session: AsyncSession, subscription: Subscription, now: datetime) -> Subscription:
    await cancel_job(session, key=_pause_key(subscription.id))
    await cancel_job(session, key=_resume_key(subscription.id))
    await _announce(session, subscription, "pause_cancelled", now)
    subscription.pause_at = subscription.resume_at = None
    return subscription


async def pause_credit_request(session: AsyncSession, subscription: Subscription, *, at: datetime) -> CreditRequest:
    """The credit owed for the paused days of the current period when the pause ends at `at`."""
    plan = await repository.get_plan(session, subscription.plan_code)
    pause_at = pause_start(subscription)
    window = await pause_window(session, subscription, pause_at=pause_at, resume_at=at)
    return CreditRequest(
        key=f"pause:{subscription.id}:{pause_at.isoformat()}",
        reason="pause_unused_period",
        currency=plan.currency,
        description=f"Unused days of {plan.name} while paused",
        pause=window,
    )


async def _resume(session: AsyncSession, subscription: Subscription, *, at: datetime) -> None:
    """End the pause at `at`: in term, keep the billing dates; after the term, start a new period
    billed at once. Either way `subscription.resumed` carries the pause credit's request."""
    credit = await pause_credit_request(session, subscription, at=at)
    paused_at = subscription.pause_at
    in_term = at < subscription.current_period()[1]
    subscription.move_to(SubscriptionStatus.ACTIVE)
    subscription.pause_at = subscription.resume_at = None
    subscription.last_resumed_at = at
    await cancel_job(session, key=_resume_key(subscription.id))
    details = {"paused_at": _iso(paused_at), "in_term": in_term}
    if in_term:
        await lifecycle.schedule_renewal(session, subscription)
        await _announce(session, subscription, "resumed", at, credit_requests=[credit], details=details)
        return
    plan = await repository.get_plan(session, subscription.plan_code)
    one_time: list[ChargeLine] = []
    change = scheduled_changes.take_due(subscription, at)
    if change:  # changes asked for the end of the term that ended during the pause take effect now
        customer = await repository.get_customer(session, subscription.customer_id)
        plan, one_time = await lifecycle._apply_scheduled_change(
            session, subscription, change, plan=plan, customer=customer, at=at
        )
    lines = await lifecycle._start_period(session, subscription, plan, at)
    await _announce(
        session,
        subscription,
        "resumed",
        at,
        credit_requests=[credit],
        details=details,
        bill_lines=lines + one_time + lifecycle.take_pending_lines(subscription),
        billing_reason="subscription_resume",
    )
