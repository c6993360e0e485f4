"""Events per second through one EventConsumer, on the embedded PostgreSQL and broker (not a test).

    .venv/bin/python -m tests.integration.consumer_throughput [--events 5000] [--rounds 3] [--compare-with DIR]

Sends the events first, then times one consumer (no leases, every partition) from its start until
every offset is stored; the handler inserts one row. Prints events/s and the database transactions
committed per event (pg_stat_database.xact_commit), beside the load average. With --compare-with
the rounds alternate between this tree and another tenure_shared, on the same servers, so that the
ratio holds even on a busy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, text

import tenure_shared.consumer
from tenure_shared.broker import ensure_topics, make_admin
from tenure_shared.consumer import ConsumerOffset, EventConsumer
from tenure_shared.db import connect_raw, ensure_database, make_engine, make_session_factory, run_migrations, service_database_url
from tenure_shared.events import CloudEvent
from tenure_tools.stack import EmbeddedBroker, EmbeddedPostgres, free_port

AT = datetime(2026, 3, 1, tzinfo=UTC)


async def _measure(database_url: str, bootstrap: str, events: int, customers: int) -> dict[str, float]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    await ensure_database(database_url, name)
    url = service_database_url(database_url, name)
    await asyncio.to_thread(run_migrations, url, "tenure_health")
    topic = f"tenure.bench.{uuid.uuid4().hex[:8]}"
    admin = make_admin(bootstrap)
    await admin.start()
    try:
        await ensure_topics(admin, (topic, f"{topic}.dlq"))
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        pending = []
        for n in range(events):
            customer = f"cus_{n % customers}"
            event = CloudEvent(id=f"evt_{n}", type="thing.happened", source="bench", subject=customer, time=AT, data={"n": n})
            pending.append(await producer.send(topic, key=customer.encode(), value=event.model_dump_json().encode()))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    async with sessions() as session, session.begin():
        await session.execute(text("CREATE TABLE effects (event_id text PRIMARY KEY, n int)"))

    async def record_effect(session, event: CloudEvent) -> None:
        await session.execute(text("INSERT INTO effects VALUES (:id, :n)"), {"id": event.id, "n": event.data["n"]})

    stats = await connect_raw(url)

    async def commits() -> int:
        return await stats.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")

    consumer = EventConsumer(
        service="bench",
        bootstrap_servers=bootstrap,
        session_factory=sessions,
        topics=(topic,),
        handlers={"thing.happened": record_effect},
    )
    await stats.execute("SELECT pg_stat_clear_snapshot()")
    commits_before = await commits()
    started = time.monotonic()
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        while True:
            async with sessions() as session:
                done = await session.scalar(
                    select(func.coalesce(func.sum(ConsumerOffset.next_offset), 0)).where(ConsumerOffset.topic == topic)
                )
            if done >= events:
                break
            await asyncio.sleep(0.02)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        await task
        await consumer.stop()
    await asyncio.sleep(0.6)  # the statistics collector reports committed transactions with a delay
    await stats.execute("SELECT pg_stat_clear_snapshot()")
    commits_after = await commits()
    async with sessions() as session:
        effects = await session.scalar(text("SELECT count(*) FROM effects"))
    await stats.close()
    await engine.dispose()
    assert effects == events, f"{effects} effects for {events} events"
    return {
        "seconds": elapsed,
        "events_per_second": events / elapsed,
        "commits_per_event": (commits_after - commits_before) / events,
    }


def _measure_in_subprocess(shared_dir: str | None, database_url: str, bootstrap: str, args) -> dict[str, object]:
    """One measurement in a fresh process, importing tenure_shared from `shared_dir` if given."""
    env = dict(os.environ)
    if shared_dir:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [shared_dir, env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "tests.integration.consumer_throughput", "--measure", database_url, bootstrap]
    command += ["--events", str(args.events), "--customers", str(args.customers)]
    result = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--compare-with",
        help="a directory holding another tenure_shared (e.g. `git archive main shared` unpacked): rounds alternate",
    )
    parser.add_argument("--measure", nargs=2, metavar=("DATABASE_URL", "BOOTSTRAP"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        figures = asyncio.run(_measure(*args.measure, args.events, args.customers))
        print(json.dumps({**figures, "consumer_module": tenure_shared.consumer.__file__}))
        return
    state_dir = Path(tempfile.mkdtemp(prefix="consumer-bench-"))
    postgres = EmbeddedPostgres(state_dir / "pgdata")
    broker = EmbeddedBroker(free_port(), state_dir / "broker.log")
    try:
        database_url, bootstrap = postgres.start(), broker.start()
        versions = {"this tree": None, **({"compared": args.compare_with} if args.compare_with else {})}
        for round_number in range(1, args.rounds + 1):
            for name, shared_dir in versions.items():
                figures = _measure_in_subprocess(shared_dir, database_url, bootstrap, args)
                print(
                    f"round {round_number} {name} ({figures['consumer_module']}): {args.events} events in "
                    f"{figures['seconds']:.2f} s = {figures['events_per_second']:.0f} events/s, "
                    f"{figures['commits_per_event']:.3f} commits/event, load average {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
    finally:
        broker.stop()
        postgres.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
