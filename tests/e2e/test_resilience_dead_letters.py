"""Dead letters seen and handled by an operator on the running stack: the /internal routes, the
worker's replay, and the `tenure dead-letters`, `tenure jobs` and `tenure ops` commands."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaProducer

from tenure_shared.events import SUBSCRIPTIONS, CloudEvent
from tenure_tools.services import SERVICES, URL_SETTINGS


def _publish(bootstrap: str, event: CloudEvent) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(SUBSCRIPTIONS, key=event.subject.encode(), value=event.model_dump_json().encode())
        finally:
            await producer.stop()

    asyncio.run(send())


def _internal(stack, service: str, method: str, path: str, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {stack.internal_token}"}
    return httpx.request(method, stack.url(service) + path, headers=headers, timeout=10, **kwargs)


def _tenure(stack, *args: str) -> subprocess.CompletedProcess:
    env = {"TENURE_INTERNAL_TOKEN": stack.internal_token, "PATH": "/usr/bin:/bin"}
    env.update({setting: stack.url(service) for service, setting in URL_SETTINGS.items()})
    return subprocess.run([sys.executable, "-m", "tenure_tools.cli", *args], env=env, capture_output=True, text=True, timeout=60)


def _wait_status(stack, event_id: str, wanted: str) -> dict:
    for _ in range(200):
        response = _internal(stack, "invoicing", "GET", f"/internal/dead-letters/{event_id}")
        if response.status_code == 200 and response.json()["status"] == wanted:
            return response.json()
        time.sleep(0.1)
    raise AssertionError(f"{event_id} never became {wanted}: {response.text}")


def test_a_refused_event_is_listed_replayed_by_the_worker_and_discarded(stack):
    # A customer.created whose data no handler can read: invoicing and credit-svc refuse it deterministically.
    event = CloudEvent(
        id=f"evt_{uuid.uuid4().hex}",
        type="customer.created",
        source="itest",
        subject=f"cus_{uuid.uuid4().hex[:8]}",
        time=datetime(2026, 3, 1, tzinfo=UTC),
        data={"not": "a customer"},
    )
    _publish(stack.kafka_bootstrap, event)
    dead = _wait_status(stack, event.id, "dead_lettered")
    assert dead["envelope"]["id"] == event.id and dead["topic"] == SUBSCRIPTIONS and "validation error" in dead["error"]

    listed = _internal(stack, "invoicing", "GET", "/internal/dead-letters", params={"event_type": "customer.created"})
    assert event.id in [d["event_id"] for d in listed.json()["data"]]
    assert _internal(stack, "invoicing", "GET", "/internal/dead-letters", params={"status": "bogus"}).status_code == 422
    assert httpx.get(stack.url("invoicing") + "/internal/dead-letters", timeout=10).status_code == 401

    cli = _tenure(stack, "dead-letters", "list", "--service", "invoicing", "--type", "customer.created")
    assert cli.returncode == 0 and event.id in cli.stdout, cli.stderr
    cli = _tenure(stack, "dead-letters", "show", event.id, "--service", "invoicing")
    assert cli.returncode == 0 and '"not": "a customer"' in cli.stdout, cli.stderr

    # The worker runs the replay; the handler refuses again, so it is a dead letter again.
    cli = _tenure(stack, "dead-letters", "replay", event.id, "--service", "invoicing")
    assert cli.returncode == 1 and f"{event.id}: dead_lettered" in cli.stdout, (cli.stdout, cli.stderr)

    for service in ("invoicing", "credit"):
        cli = _tenure(stack, "dead-letters", "discard", event.id, "--service", service)
        assert cli.returncode == 0 and f"{event.id}: discarded" in cli.stdout, cli.stderr
    assert _internal(stack, "invoicing", "GET", "/internal/dead-letters/evt_unknown").json()["code"] == "dead_letter_not_found"

    cli = _tenure(stack, "ops")
    assert cli.returncode == 0, cli.stderr
    assert [line.split()[0] for line in cli.stdout.splitlines()[1:]] == list(SERVICES)
    view = _internal(stack, "invoicing", "GET", "/internal/ops").json()
    assert view["service"] == "invoicing" and view["dead_letters"].get("discarded", 0) >= 1
    assert set(view["jobs"]) >= {"failed", "waiting", "pending"} and "oldest_unsent_age_seconds" in view["outbox"]

    cli = _tenure(stack, "jobs", "list", "--service", "dunning")
    assert cli.returncode == 0 and cli.stdout.startswith("id"), cli.stderr
    missing = _internal(stack, "dunning", "POST", "/internal/jobs/999999999/retry")
    assert (missing.status_code, missing.json()["code"]) == (404, "job_not_found")
