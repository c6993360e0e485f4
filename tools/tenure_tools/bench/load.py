"""The load generator for the API figures and their bare-endpoint ceiling: `clients` concurrent
requests kept open for `seconds`, from a process of its own (so the benchmark's own sampling does
not share its event loop). The same generator hits Tenure and the bare endpoint, so the ratio
between them does not depend on how fast the generator is."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tenure_tools.bench.common import in_fresh_process, latency_ms


@dataclass(frozen=True)
class Load:
    """GET `path` (with `{id}` replaced by one of `ids` at random) or POST `body` (with `{n}` replaced
    by a unique string) at `clients` concurrent clients for `seconds` after `warmup` seconds."""

    base_url: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    ids: tuple[str, ...] = ()
    body: dict[str, Any] | None = None
    clients: int = 16
    seconds: float = 10.0
    warmup: float = 1.0  # at most; half of `seconds` for short runs


def _fill(value: Any, unique: str) -> Any:
    if isinstance(value, str):
        return value.replace("{n}", unique)
    if isinstance(value, dict):
        return {k: _fill(v, unique) for k, v in value.items()}
    return value


async def _run(load: Load) -> dict[str, Any]:
    rng = random.Random(7)
    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    limits = httpx.Limits(max_connections=load.clients, max_keepalive_connections=load.clients)
    async with httpx.AsyncClient(base_url=load.base_url, headers=load.headers, timeout=30, limits=limits) as http:

        async def one() -> None:
            nonlocal errors
            if load.method == "GET":
                request = http.get(load.path.replace("{id}", rng.choice(load.ids)) if load.ids else load.path)
            else:
                request = http.post(load.path, json=_fill(load.body, uuid.uuid4().hex[:12]))
            began = time.perf_counter()
            try:
                response = await request
            except httpx.HTTPError:
                errors += 1
                return
            elapsed = time.perf_counter() - began
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 400:
                errors += 1
            elif measuring:
                latencies.append(elapsed)

        async def client(until: float) -> None:
            while time.perf_counter() < until:
                await one()

        measuring = False
        warmup = min(load.warmup, load.seconds / 2)
        await asyncio.gather(*(client(time.perf_counter() + warmup) for _ in range(load.clients)))
        measuring = True
        began = time.perf_counter()
        await asyncio.gather(*(client(began + load.seconds) for _ in range(load.clients)))
        wall = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "seconds": round(wall, 2),
        "requests_per_s": round(len(latencies) / wall, 1),
        "latency_ms": latency_ms(latencies),
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "clients": load.clients,
    }


def _load_in_child(load: Load) -> dict[str, Any]:
    return asyncio.run(_run(load))


def run_load(load: Load) -> dict[str, Any]:
    return in_fresh_process(_load_in_child, load)
