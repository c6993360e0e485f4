"""Due work runs in due order, only once due, each job once; a failing job is retried then parked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from tenure_shared.due_work import MAX_JOB_ATTEMPTS, DueWorkRunner, ScheduledJob, schedule_job

T0 = datetime(2026, 4, 1, tzinfo=UTC)


async def test_jobs_run_in_due_order_up_to_the_given_instant(mechanism_db):
    _, sessions = mechanism_db
    ran = []

    async def note(session, job: ScheduledJob) -> None:
        ran.append((job.key, job.due_at))

    async with sessions() as session, session.begin():
        for key, days in [("c", 3), ("a", 1), ("b", 2), ("d", 10)]:
            await schedule_job(session, kind="note", key=key, due_at=T0 + timedelta(days=days), clock_id="clock_1")
        await schedule_job(session, kind="note", key="other-clock", due_at=T0, clock_id="clock_2")
    runner = DueWorkRunner(sessions, {"note": note})
    assert await runner.next_due_at("clock_1") == T0 + timedelta(days=1)
    assert await runner.run_due("clock_1", T0 + timedelta(days=3)) == 3
    assert [k for k, _ in ran] == ["a", "b", "c"]
    assert await runner.run_due("clock_1", T0 + timedelta(days=3)) == 0
    assert await runner.next_due_at("clock_1") == T0 + timedelta(days=10)


async def test_rescheduling_a_key_replaces_the_pending_job(mechanism_db):
    _, sessions = mechanism_db
    async with sessions() as session, session.begin():
        await schedule_job(session, kind="note", key="renewal:sub_1", due_at=T0, clock_id=None)
        await schedule_job(session, kind="note", key="renewal:sub_1", due_at=T0 + timedelta(days=30), clock_id=None)
    async with sessions() as session:
        pending = (await session.scalars(select(ScheduledJob).where(ScheduledJob.status == "pending"))).all()
    assert [(j.key, j.due_at) for j in pending] == [("renewal:sub_1", T0 + timedelta(days=30))]


async def test_a_failing_job_is_retried_then_marked_failed_without_blocking_others(mechanism_db):
    _, sessions = mechanism_db
    ran = []

    async def broken(session, job):
        raise RuntimeError("boom")

    async def fine(session, job):
        ran.append(job.key)

    async with sessions() as session, session.begin():
        await schedule_job(session, kind="broken", key="x", due_at=T0, clock_id="c")
        await schedule_job(session, kind="fine", key="y", due_at=T0 + timedelta(hours=1), clock_id="c")
    runner = DueWorkRunner(sessions, {"broken": broken, "fine": fine})
    await runner.run_due("c", T0 + timedelta(days=1))
    assert ran == ["y"]
    async with sessions() as session:
        job = await session.scalar(select(ScheduledJob).where(ScheduledJob.key == "x"))
    assert (job.status, job.attempts) == ("failed", MAX_JOB_ATTEMPTS)
    assert "boom" in job.last_error
