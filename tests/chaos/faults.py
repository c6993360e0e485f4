"""Faults injected into a running stack, one after another, by a background thread.

The thread also plays supervisor (as `tenure dev` or a container runtime would): any service
process that is not running is started again, whether a fault killed it or it stopped itself
(a worker whose database connection was cut exits so that another copy can take over).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tenure_shared.db import connect_raw, service_database_url


@dataclass
class Fault:
    name: str
    inject: Callable[[], None]


def kill(stack, service: str, role: str) -> Fault:
    """SIGKILL one process; the supervisor starts it again."""
    return Fault(f"sigkill {service} {role}", lambda: stack.processes[(service, role)].kill())


async def _allow_connections(stack, service: str, allowed: bool) -> None:
    database = f"{stack.database_prefix}{service}"
    admin = await connect_raw(service_database_url(stack.database_url, "postgres", prefix=""))
    try:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await admin.close()


def close_database(stack, service: str, seconds: float) -> Fault:
    """The service's database refuses every connection for `seconds`, its open ones are cut."""

    def inject() -> None:
        asyncio.run(_allow_connections(stack, service, False))
        try:
            time.sleep(seconds)
        finally:
            asyncio.run(_allow_connections(stack, service, True))

    return Fault(f"close {service} database {seconds:.0f} s", inject)


def restart_postgres(stack) -> Fault:
    return Fault("restart postgres", stack.restart_postgres)


def restart_broker(stack) -> Fault:
    return Fault("restart broker", stack.restart_broker)


@dataclass
class FaultDriver:
    """Runs `faults` in turn, `gap` seconds apart, and restarts stopped processes until `stop()`."""

    stack: object
    faults: list[Fault]
    gap: float = 3.0
    injected: list[str] = field(default_factory=list)
    restarts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stopping = threading.Event()
        self._faults_done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-faults", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait_faults(self, timeout: float) -> None:
        if not self._faults_done.wait(timeout):
            raise AssertionError(f"faults still running after {timeout} s; injected so far: {self.injected}")

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            for fault in self.faults:
                if self._supervise_for(self.gap):
                    return
                fault.inject()
                self.injected.append(fault.name)
        except Exception as exc:  # surfaced by the test through `errors`
            self.errors.append(f"{exc!r}")
        finally:
            self._faults_done.set()
        self._supervise_for(None)

    def _supervise_for(self, seconds: float | None) -> bool:
        """Restart stopped processes for `seconds` (or until stopped); True when asked to stop."""
        until = None if seconds is None else time.monotonic() + seconds
        while until is None or time.monotonic() < until:
            for (service, role), process in self.stack.processes.items():
                if not process.alive():
                    process.start()
                    self.restarts.append(f"{service} {role}")
            if self._stopping.wait(0.3):
                return True
        return False
