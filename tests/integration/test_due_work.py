"""Due work runs in due order, only once due, each job once; a failing job is retried then parked."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update

from tenure_shared.clock import real_now
from tenure_shared.due_work import (
    DUE_WORK_CHANNEL,
    MAX_JOB_ATTEMPTS,
    BatchableJob,
    DueWorkRunner,
    ScheduledJob,
    retry_failed_job,
    schedule_job,
)
from tenure_shared.failures import job_retry_delay
from tenure_shared.internal_http import DependencyUnavailable
from tests.integration.things import notifications

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


async def _let_back_off_pass(sessions) -> None:
    """As if the real time of every waiting job's next attempt had come."""
    async with sessions() as session, session.begin():
        await session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.next_attempt_at.is_not(None))
            .values(next_attempt_at=real_now() - timedelta(seconds=1))
        )


async def _job(sessions, key: str) -> ScheduledJob:
    async with sessions() as session:
        return await session.scalar(select(ScheduledJob).where(ScheduledJob.key == key))


async def test_a_job_whose_peer_is_down_waits_out_its_back_off_and_is_never_failed(mechanism_db):
    _, sessions = mechanism_db
    calls = []
    outage_attempts = MAX_JOB_ATTEMPTS + 2

    async def collect(session, job):
        calls.append(job.key)
        if len(calls) <= outage_attempts:
            raise DependencyUnavailable("invoicing did not answer")

    async with sessions() as session, session.begin():
        await schedule_job(session, kind="collect", key="retry:case_1", due_at=T0, clock_id="c")
    runner = DueWorkRunner(sessions, {"collect": collect})
    before_attempt = real_now()
    assert await runner.run_due("c", T0 + timedelta(days=1)) == 1
    assert calls == ["retry:case_1"], "one attempt per pass, never several back to back"
    job = await _job(sessions, "retry:case_1")
    assert (job.status, job.attempts) == ("pending", 1)
    # The back-off counts from the failed attempt, which came after `before_attempt` (however slow the machine).
    assert job.next_attempt_at - before_attempt >= job_retry_delay(1)
    assert await runner.run_due("c", T0 + timedelta(days=1)) == 0, "not before its next attempt is due"
    assert await runner.next_due_at("c") is None and await runner.waiting_until("c") == job.next_attempt_at
    for attempt in range(2, outage_attempts + 2):
        await _let_back_off_pass(sessions)
        assert await runner.run_due("c", T0 + timedelta(days=1)) == 1
        job = await _job(sessions, "retry:case_1")
        assert job.status == ("done" if attempt > outage_attempts else "pending"), attempt
    assert len(calls) == outage_attempts + 1
    assert "did not answer" in job.last_error


async def test_a_deterministic_failure_is_parked_as_failed_and_can_be_retried(mechanism_db):
    _, sessions = mechanism_db
    ran = []
    broken = True

    async def flaky_code(session, job):
        if broken:
            raise RuntimeError("boom")
        ran.append(job.key)

    async def fine(session, job):
        ran.append(job.key)

    async with sessions() as session, session.begin():
        await schedule_job(session, kind="flaky_code", key="x", due_at=T0, clock_id="c")
        await schedule_job(session, kind="fine", key="y", due_at=T0 + timedelta(hours=1), clock_id="c")
    runner = DueWorkRunner(sessions, {"flaky_code": flaky_code, "fine": fine})
    await runner.run_due("c", T0 + timedelta(days=1))
    assert ran == ["y"], "a failing job does not block the others"
    for _ in range(MAX_JOB_ATTEMPTS - 1):
        assert (await _job(sessions, "x")).status == "pending"
        await _let_back_off_pass(sessions)
        await runner.run_due("c", T0 + timedelta(days=1))
    job = await _job(sessions, "x")
    assert (job.status, job.attempts, job.next_attempt_at) == ("failed", MAX_JOB_ATTEMPTS, None)
    assert "boom" in job.last_error

    broken = False
    async with sessions() as session, session.begin():
        assert (await retry_failed_job(session, job.id)).status == "pending"
    assert await runner.run_due("c", T0 + timedelta(days=1)) == 1
    assert ran == ["y", "x"] and (await _job(sessions, "x")).status == "done"


async def _transaction_id(session) -> int:
    return await session.scalar(text("SELECT txid_current()"))


async def test_batchable_jobs_run_in_one_transaction_keeping_each_subscription_in_due_order(mechanism_db):
    _, sessions = mechanism_db
    ran = []

    async def renew(session, job: ScheduledJob) -> None:
        ran.append((job.key, await _transaction_id(session)))

    async with sessions() as session, session.begin():
        for key, subscription, days in [("sub_1:b", "sub_1", 2), ("sub_1:a", "sub_1", 1), ("sub_2:a", "sub_2", 1)]:
            await schedule_job(
                session,
                kind="renew",
                key=key,
                due_at=T0 + timedelta(days=days),
                clock_id="c",
                payload={"subscription_id": subscription},
            )
    runner = DueWorkRunner(sessions, {"renew": BatchableJob(renew)})
    assert await runner.run_due("c", T0 + timedelta(days=3)) == 3
    keys = [key for key, _ in ran]
    assert sorted(keys) == ["sub_1:a", "sub_1:b", "sub_2:a"]
    assert keys.index("sub_1:a") < keys.index("sub_1:b"), "one subscription's jobs in due order"
    first_pass = {transaction for key, transaction in ran if key != "sub_1:b"}
    assert len(first_pass) == 1, "the first job of each subscription ran in one transaction"


async def test_a_failing_job_in_a_batch_is_recorded_alone_and_the_others_run(mechanism_db):
    _, sessions = mechanism_db
    ran = []

    async def renew(session, job: ScheduledJob) -> None:
        if job.key == "bad":
            raise RuntimeError("boom")
        ran.append((job.key, await _transaction_id(session)))

    async with sessions() as session, session.begin():
        for key in ("good_1", "bad", "good_2"):
            await schedule_job(session, kind="renew", key=key, due_at=T0, clock_id="c")
    runner = DueWorkRunner(sessions, {"renew": BatchableJob(renew)})
    assert await runner.run_due("c", T0) == 3
    assert [(await _job(sessions, k)).status for k in ("good_1", "bad", "good_2")] == ["done", "pending", "done"]
    bad = await _job(sessions, "bad")
    assert bad.attempts == 1 and "boom" in bad.last_error
    kept = [transaction for key, transaction in ran[-2:]]
    assert [key for key, _ in ran[-2:]] == ["good_1", "good_2"] and kept[0] != kept[1], "after the rollback, one per transaction"


async def test_a_batch_stops_taking_jobs_once_the_budget_is_spent(mechanism_db):
    """run-due's caller waits at most a few seconds: a batch on a busy machine must not outlast it."""
    _, sessions = mechanism_db
    ran = []

    async def slow(session, job: ScheduledJob) -> None:
        await asyncio.sleep(0.2)
        ran.append(job.key)

    async with sessions() as session, session.begin():
        for key in ("a", "b", "c"):
            await schedule_job(session, kind="slow", key=key, due_at=T0, clock_id="c")
    runner = DueWorkRunner(sessions, {"slow": BatchableJob(slow)})
    assert await runner.run_due("c", T0, budget_seconds=0.1) == 1
    assert [(await _job(sessions, k)).status for k in ("a", "b", "c")] == ["done", "pending", "pending"]
    assert await runner.run_due("c", T0) == 2
    assert ran == ["a", "b", "c"]


async def test_a_real_time_job_due_now_wakes_the_workers_and_a_later_or_clock_job_does_not(mechanism_db):
    url, sessions = mechanism_db
    async with notifications(url, DUE_WORK_CHANNEL) as woken:
        async with sessions() as session, session.begin():
            await schedule_job(session, kind="note", key="later", due_at=real_now() + timedelta(hours=1), clock_id=None)
            await schedule_job(session, kind="note", key="on-a-clock", due_at=T0, clock_id="clock_1")
        async with sessions() as session, session.begin():
            await schedule_job(session, kind="note", key="now", due_at=real_now(), clock_id=None)
        await asyncio.wait_for(woken.get(), timeout=5)
        await asyncio.sleep(0.5)
        assert woken.empty(), "only the job due now notified"
