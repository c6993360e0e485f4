"""No row lock and no gapless-number lock is held while another service is asked: each use case
below is run against a peer that holds its answer, and meanwhile another connection locks the rows
the use case will write (FOR UPDATE NOWAIT) — which fails while they are locked."""

from __future__ import annotations

from datetime import datetime

import pytest

from tenure_dunning import config as dunning_config
from tenure_dunning.jobs import run_retry
from tenure_invoicing import config as invoicing_config
from tenure_invoicing.handlers import on_subscription_billed
from tenure_shared.due_work import ScheduledJob
from tenure_shared.internal_http import InternalClient
from tenure_shared.settings import ServiceSettings
from tenure_subscription.service.pausing import pause_subscription
from tenure_subscription.service.reactivation import reactivate_subscription
from tests.e2e.money_paths import (
    SimulatedCrash,
    SlowPeer,
    a_new_event_like,
    close_internal_client,
    credit_step,
    lockable_now,
    sessions_of,
    use_service_settings,
    while_peer_holds,
)
from tests.support.client import TenureClient
from tests.support.credits import manual_note, plan, subscribe
from tests.support.lifecycle import account_settings


@pytest.fixture
def peer():
    peers: list[SlowPeer] = []

    def make(answer) -> SlowPeer:
        peers.append(SlowPeer(answer))
        return peers[-1]

    yield make
    for slow in peers:
        slow.close()


def _client(stack, **urls: str) -> InternalClient:
    return InternalClient(ServiceSettings(TENURE_INTERNAL_TOKEN=stack.internal_token, **urls))


@pytest.mark.e2e
async def test_invoicing_holds_no_usage_row_and_no_invoice_number_while_credits_are_applied(
    api: TenureClient, stack, monkeypatch, peer
):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, plan(api, "lock-credits", 1000))
    manual_note(api, customer, 300)
    api.wait_ready(clock)  # invoicing has the note's credit_note.issued: it asks credit-svc only then
    event = await a_new_event_like(stack, event_type="subscription.activated", subject=customer)
    credit_svc = peer({"applications": [], "amount_applied": 0})
    use_service_settings(monkeypatch, stack, "invoicing", invoicing_config, CREDIT_SVC_URL=credit_svc.url)

    async def bill() -> None:
        async with sessions_of(stack, "invoicing") as sessions, sessions() as session, session.begin():
            await on_subscription_billed(session, event)
            raise SimulatedCrash

    async def check() -> tuple[bool, bool]:
        return (
            await lockable_now(stack, "invoicing", "usage_subscriptions", "id = $1", subscription["id"]),
            await lockable_now(stack, "invoicing", "number_sequences", "name = 'invoice'"),
        )

    try:
        assert await while_peer_holds(credit_svc, bill, check) == (True, True)
    finally:
        await close_internal_client(invoicing_config)


@pytest.mark.e2e
async def test_a_dunning_retry_holds_no_case_lock_while_invoicing_collects(api: TenureClient, stack, monkeypatch, peer):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    _, subscription = subscribe(api, clock, plan(api, "lock-dunning", 1000), payment_method="pm_test_declined")
    [invoice] = api.invoices(subscription_id=subscription["id"])
    [case] = api.get("dunning", "/v1/dunning-cases", params={"invoice_id": invoice["id"]})["data"]
    invoicing = peer({"id": "pay_slow", "status": "failed", "failure_code": "card_declined"})
    use_service_settings(monkeypatch, stack, "dunning", dunning_config, INVOICING_SVC_URL=invoicing.url)
    due_at = datetime.fromisoformat(case["next_retry_at"])
    job = ScheduledJob(kind="dunning_retry", payload={"case_id": case["id"]}, due_at=due_at)

    async def retry() -> None:
        async with sessions_of(stack, "dunning") as sessions, sessions() as session, session.begin():
            await run_retry(session, job)
            raise SimulatedCrash

    try:
        assert await while_peer_holds(
            invoicing, retry, lambda: lockable_now(stack, "dunning", "dunning_cases", "id = $1", case["id"])
        )
    finally:
        await close_internal_client(dunning_config)


@pytest.mark.e2e
async def test_reactivation_holds_no_subscription_lock_while_invoicing_collects(api: TenureClient, stack, peer):
    with account_settings(api, reactivation_requires_payment=True):
        clock = api.create_clock("2026-06-01T00:00:00Z")
        _, subscription = subscribe(api, clock, plan(api, "lock-reactivation", 1000))
        api.post("subscription", f"/v1/subscriptions/{subscription['id']}/cancel", {"when": "now"})
        api.wait_ready(clock)
        invoicing = peer({"invoices": []})
        internal = _client(stack, INVOICING_SVC_URL=invoicing.url)

        async def reactivate() -> None:
            async with sessions_of(stack, "subscription") as sessions, sessions() as session, session.begin():
                await reactivate_subscription(session, subscription_id=subscription["id"], internal=internal)
                raise SimulatedCrash

        try:
            assert await while_peer_holds(
                invoicing, reactivate, lambda: lockable_now(stack, "subscription", "subscriptions", "id = $1", subscription["id"])
            )
        finally:
            await internal.close()


@pytest.mark.e2e
async def test_a_pause_holds_no_subscription_lock_while_credit_svc_prices_it(api: TenureClient, stack, peer):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    _, subscription = subscribe(api, clock, plan(api, "lock-pause", 3000))
    credit_svc = peer({"unused_days": 10, "period_days": 30, "amount": 1000})
    internal = _client(stack, CREDIT_SVC_URL=credit_svc.url)
    resume_at = datetime.fromisoformat("2026-06-11T00:00:00+00:00")

    async def pause() -> None:
        async with sessions_of(stack, "subscription") as sessions, sessions() as session, session.begin():
            await pause_subscription(
                session, subscription_id=subscription["id"], pause_at=None, resume_at=resume_at, internal=internal
            )
            raise SimulatedCrash

    try:
        assert await while_peer_holds(
            credit_svc, pause, lambda: lockable_now(stack, "subscription", "subscriptions", "id = $1", subscription["id"])
        )
    finally:
        await internal.close()


@pytest.mark.e2e
async def test_credit_svc_holds_no_note_lock_while_the_gateway_refunds(api: TenureClient, stack, peer):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, _ = subscribe(api, clock, plan(api, "lock-refund", 1000))
    note = manual_note(api, customer, 400)
    invoicing = peer({"status": "succeeded", "failure_code": None})

    async def refund() -> None:
        assert await credit_step(stack, "refund", credit_note_id=note["id"], invoicing_url=invoicing.url) == "succeeded"

    assert await while_peer_holds(invoicing, refund, lambda: lockable_now(stack, "credit", "credit_notes", "id = $1", note["id"]))
    assert api.get("credit", f"/v1/credit-notes/{note['id']}")["status"] == "refunded"


@pytest.mark.e2e
async def test_credit_svc_holds_no_credit_note_number_while_an_event_refund_is_paid(api: TenureClient, stack, peer):
    with account_settings(api, redeem_credits=False):
        clock = api.create_clock("2026-04-01T00:00:00Z")
        customer, subscription = subscribe(api, clock, plan(api, "lock-event-refund", 3000))
        api.advance(clock, "2026-04-16T00:00:00Z")
        api.post("subscription", f"/v1/subscriptions/{subscription['id']}/cancel", {"when": "now", "unused_amount": "refund"})
        api.wait_ready(clock)
    event = await a_new_event_like(stack, event_type="subscription.cancelled", subject=customer)
    event.data["credit_requests"][0]["key"] += ":locks"
    invoicing = peer({"status": "succeeded", "failure_code": None})

    async def consume() -> None:
        envelope = event.model_dump(mode="json")
        assert await credit_step(stack, "consume", event=envelope, crash=True, invoicing_url=invoicing.url) == "crashed"

    assert await while_peer_holds(
        invoicing, consume, lambda: lockable_now(stack, "credit", "number_sequences", "name = 'credit_note'")
    )
