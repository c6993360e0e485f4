"""Work shared out among a service's workers through leases in the service's own database.

Every worker process of a service is active. The work that must have one owner at a time is cut
into resources, each a row of `leases` (resource, kind, owner, epoch, expires_at):
- `partition`: one per (topic, partition) the service consumes, named `topic:partition`;
- `outbox`: one per outbox shard, `outbox:<shard>` (`tenure_shared.outbox`);
- `loop`: one per singleton loop of the worker, `loop:<name>` (e.g. the test-clock coordinator).

Each worker heartbeats in `workers` with the resources it can work on (`wants`) and, every
RENEW_SECONDS, renews what it holds, then works out from the live workers' rows who should hold
what (`assign`: each resource to the least loaded of the workers that want it, per kind) and takes
or gives back leases to match. Every worker computes the same answer from the same rows, and a
resource only some workers want (a topic a newer version consumes, during a rolling deploy) still
goes to one of them. A lease lasts LEASE_TTL_SECONDS; a worker that dies (SIGKILL) stops renewing and its leases are taken
by the others once they expire. SIGTERM gives them back at once. Lease times are the database's
clock (`now()`), never business time, and never the worker's own clock.

Taking a lease raises its epoch. Work done under a lease is *fenced*: the transaction that commits
it first locks the lease row `FOR SHARE` and checks owner and epoch (`hold`); a worker whose lease
was taken (and re-taken) cannot commit late. While a transaction holds that share lock, nobody can
take the lease (takers skip locked rows), so an effect and its offset land before the next owner
reads the offset.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import structlog
from sqlalchemy import BigInteger, DateTime, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from tenure_shared.db import Base

log = structlog.get_logger()

LEASE_TTL_SECONDS = 5.0
RENEW_SECONDS = 1.0
# A worker row this long past its expiry is deleted (it only counts workers while alive).
FORGET_WORKER_AFTER = timedelta(minutes=1)

PARTITION = "partition"
OUTBOX = "outbox"
LOOP = "loop"


class Lease(Base):
    __tablename__ = "leases"

    resource: Mapped[str] = mapped_column(String, primary_key=True)
    kind: Mapped[str] = mapped_column(String)
    owner: Mapped[str | None] = mapped_column(String)
    epoch: Mapped[int] = mapped_column(BigInteger, default=0)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WorkerHeartbeat(Base):
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    wants: Mapped[dict[str, list[str]] | None] = mapped_column(JSONB)  # kind -> resources it can work on


class LeaseLost(Exception):
    """The lease this work was done under has been taken by another worker: roll it back."""


def partition_resource(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


def outbox_resource(shard: int) -> str:
    return f"outbox:{shard}"


def loop_resource(name: str) -> str:
    return f"loop:{name}"


def _preference(resource: str) -> tuple[int, str]:
    """`topic:3` -> (3, topic); `outbox:5` -> (5, outbox); `loop:name` -> (0, loop:name)."""
    name, _, number = resource.rpartition(":")
    return (int(number), name) if number.isdigit() else (0, resource)


def assign(wants: Mapping[str, Mapping[str, Iterable[str]]]) -> dict[str, str]:
    """Who should hold each resource, given what each live worker wants (worker -> kind -> resources).

    Per kind, resources in preference order (partition 0 of every topic, then 1 …) each go to the
    least loaded worker that wants it, ties to the lowest worker id: equal wants split evenly, and a
    resource some workers do not know still gets an owner among those that do."""
    owners: dict[str, str] = {}
    workers = sorted(wants)
    for kind in sorted({kind for wanted in wants.values() for kind in wanted}):
        takers = {worker: set(wants[worker].get(kind, ())) for worker in workers}
        load = dict.fromkeys(workers, 0)
        for resource in sorted(set().union(*takers.values()), key=_preference):
            chosen = min((w for w in workers if resource in takers[w]), key=lambda w: (load[w], w))
            owners[resource] = chosen
            load[chosen] += 1
    return owners


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def hold(session: AsyncSession, resource: str, owner: str, epoch: int) -> None:
    """Fence the caller's transaction: lock the lease FOR SHARE until commit, or raise LeaseLost
    when `owner` no longer holds it at `epoch`."""
    found = await session.scalar(
        text("SELECT 1 FROM leases WHERE resource = :resource AND owner = :owner AND epoch = :epoch FOR SHARE"),
        {"resource": resource, "owner": owner, "epoch": epoch},
    )
    if found is None:
        raise LeaseLost(resource)


async def held_now(session: AsyncSession, owner: str, resources: Iterable[str]) -> list[str]:
    """Of `resources`, those `owner` holds, locked FOR SHARE until the caller's transaction ends."""
    rows = await session.scalars(
        text("SELECT resource FROM leases WHERE owner = :owner AND resource = ANY(:resources) ORDER BY resource FOR SHARE"),
        {"owner": owner, "resources": list(resources)},
    )
    return list(rows)


class LeaseKeeper:
    """One worker's side of the leases: heartbeat, renew, take a fair share, give back the rest."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        resources: dict[str, list[str]],
        *,
        worker_id: str | None = None,
        ttl_seconds: float = LEASE_TTL_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
    ):
        self._sessions = sessions
        # In order of preference: every worker keeps the first of its share and gives back the last,
        # so the partitions of each topic spread over the workers (p0 of every topic, then p1 …).
        self._resources = {kind: sorted(names, key=_preference) for kind, names in resources.items() if names}
        self.worker_id = worker_id or new_worker_id()
        self._ttl = ttl_seconds
        self._renew_seconds = renew_seconds
        self._held: dict[str, int] = {}  # resource -> epoch
        # Set whenever what this worker holds changes (the consumer re-assigns its partitions).
        self.changed = asyncio.Event()

    def held(self, kind: str) -> dict[str, int]:
        """The resources of `kind` held at the last renewal, with their epochs."""
        names = set(self._resources.get(kind, ()))
        return {resource: epoch for resource, epoch in self._held.items() if resource in names}

    def holds(self, resource: str) -> bool:
        return resource in self._held

    def forget(self, resource: str) -> None:
        """Work under `resource` found its lease taken: stop doing it before the next renewal says so."""
        if self._held.pop(resource, None) is not None:
            self.changed.set()

    async def join(self) -> None:
        """Create the lease rows (first worker wins), heartbeat and take a first share."""
        rows = [{"resource": name, "kind": kind} for kind, names in self._resources.items() for name in names]
        async with self._sessions() as session, session.begin():
            if rows:
                await session.execute(
                    text(
                        "INSERT INTO leases (resource, kind, owner, epoch, expires_at) VALUES (:resource, :kind, NULL, 0, now()) "
                        "ON CONFLICT (resource) DO NOTHING"
                    ),
                    rows,
                )
        await self.renew()

    async def run(self, stop: asyncio.Event) -> None:
        """Renew every RENEW_SECONDS until `stop`; then give everything back."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=self._renew_seconds)
            except TimeoutError:
                pass
            if stop.is_set():
                break
            try:
                await self.renew()
            except Exception as exc:  # database away: what is held expires; fenced work cannot commit
                log.warning("lease_renewal_failed", error=repr(exc))

    async def renew(self) -> None:
        """Heartbeat, renew, then take or give back leases to match `assign` over the live workers."""
        me, ttl = self.worker_id, timedelta(seconds=self._ttl)
        async with self._sessions() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO workers (id, started_at, expires_at, wants) "
                    "VALUES (:me, now(), now() + CAST(:ttl AS interval), CAST(:wants AS jsonb)) "
                    "ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at, wants = excluded.wants"
                ),
                {"me": me, "ttl": ttl, "wants": json.dumps(self._resources)},
            )
            await session.execute(
                text("DELETE FROM workers WHERE expires_at < now() - CAST(:forget AS interval)"), {"forget": FORGET_WORKER_AFTER}
            )
            # A lease row locked FOR SHARE by our own fenced work is skipped; nobody can take it meanwhile.
            await session.execute(
                text(
                    "UPDATE leases SET expires_at = now() + CAST(:ttl AS interval) WHERE resource IN "
                    "(SELECT resource FROM leases WHERE owner = :me FOR UPDATE SKIP LOCKED)"
                ),
                {"me": me, "ttl": ttl},
            )
            live = await session.execute(text("SELECT id, wants FROM workers WHERE expires_at > now()"))
            owners = assign({worker: wanted or {} for worker, wanted in live.all()})
            held: dict[str, int] = dict(
                (await session.execute(text("SELECT resource, epoch FROM leases WHERE owner = :me"), {"me": me})).all()
            )
            theirs = [resource for resource in held if owners.get(resource, me) != me]
            if theirs:
                await session.execute(
                    text(
                        "UPDATE leases SET owner = NULL, expires_at = now() WHERE resource IN "
                        "(SELECT resource FROM leases WHERE owner = :me AND resource = ANY(:theirs) FOR UPDATE SKIP LOCKED)"
                    ),
                    {"me": me, "theirs": theirs},
                )
                for resource in theirs:
                    held.pop(resource, None)
            mine = [resource for resource, owner in owners.items() if owner == me and resource not in held]
            if mine:
                taken = await session.execute(
                    text(
                        "UPDATE leases SET owner = :me, epoch = epoch + 1, expires_at = now() + CAST(:ttl AS interval) "
                        "WHERE resource IN (SELECT resource FROM leases WHERE resource = ANY(:mine) "
                        "AND (owner IS NULL OR expires_at < now()) FOR UPDATE SKIP LOCKED) "
                        "RETURNING resource, epoch"
                    ),
                    {"me": me, "ttl": ttl, "mine": mine},
                )
                held.update(dict(taken.all()))
        if held != self._held:
            gained, lost = sorted(set(held) - set(self._held)), sorted(set(self._held) - set(held))
            log.info("leases_changed", held=len(held), gained=gained, lost=lost)
            self._held = held
            self.changed.set()

    async def release(self) -> None:
        """Give every lease back and leave (SIGTERM): the others take over without waiting out the TTL."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                text("UPDATE leases SET owner = NULL, expires_at = now() WHERE owner = :me"), {"me": self.worker_id}
            )
            await session.execute(text("DELETE FROM workers WHERE id = :me"), {"me": self.worker_id})
        self._held = {}
        self.changed.set()
