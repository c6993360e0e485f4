"""`make bench` at its smoke size: the harness starts its own stack, runs every benchmark tiny and
returns a report in which every figure has its value, unit, ceiling, ratio, target and verdict, with
sane numbers and the correctness checks of each run passed. Keeps the harness from rotting."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tenure_tools.bench.report import table, write_report
from tenure_tools.bench.run import SIZES, run_bench

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {
    "ceiling.pgbench_tpcb",
    "ceiling.bare_hello",
    "ceiling.bare_select",
    "ceiling.bare_insert",
    "ceiling.copy_rows",
    "a.renewal_1_worker",
    "a.renewal_2_workers",
    "b.simulated_year",
    "c.get_subscription",
    "c.post_customer",
    "d.final_retry_void_free_plan_p99",
    "e.usage_ingestion",
    "health.recompute_pure",
    "health.recompute_db",
    "health.recompute_pure_peak_rss",
    "health.recompute_db_peak_rss",
    "health.signal_to_score",
    "health.retention_pure",
    "health.retention_db",
}
WORKERS = {"credit", "dunning", "health-score", "invoicing", "notification", "subscription"}


def test_smoke_report_has_every_figure_beside_its_ceiling(tmp_path):
    report = run_bench("smoke", worker_counts=(1, 2), state_dir=ROOT / ".tenure" / f"bench-smoke-{os.getpid()}")

    figures = report["figures"]
    assert FIGURES <= set(figures)
    assert {name.removeprefix("memory.").removesuffix("-worker") for name in figures if name.startswith("memory.")} == WORKERS
    for name, line in figures.items():
        assert set(line) >= {"value", "unit", "ceiling", "ratio", "target", "met"}, name
        assert line["value"] > 0, name
        if line["ceiling"]["value"] is not None:
            assert line["ratio"] == round(line["value"] / line["ceiling"]["value"], 3), name
        if line["target"] is not None and line["met"] is not None:
            assert isinstance(line["met"], bool), name
    # Each ceiling's figure stands beside the measured ceiling of the same run.
    assert figures["a.renewal_1_worker"]["ceiling"]["value"] == figures["ceiling.pgbench_tpcb"]["value"]
    assert figures["c.get_subscription"]["ceiling"]["value"] == figures["ceiling.bare_select"]["value"]
    assert figures["c.post_customer"]["ceiling"]["value"] == figures["ceiling.bare_insert"]["value"]
    assert figures["e.usage_ingestion"]["ceiling"]["value"] == figures["ceiling.copy_rows"]["value"]

    # The runs did what they claim, at the sizes the report names.
    size = SIZES["smoke"]
    assert report["size"] == "smoke" and report["sizes"]["renewal_subscriptions"] == size.renewal_subscriptions
    assert figures["a.renewal_1_worker"]["subscriptions"] == size.renewal_subscriptions
    assert figures["a.renewal_1_worker"]["all_renewed_and_paid"] is True
    assert figures["b.simulated_year"]["customers"] == size.year_customers
    assert figures["b.simulated_year"]["declining_all_on_free_plan"] is True
    assert figures["c.get_subscription"]["errors"] == 0 and figures["c.post_customer"]["errors"] == 0
    assert figures["d.final_retry_void_free_plan_p99"]["customers"] == size.void_customers
    assert figures["e.usage_ingestion"]["correct_counts"] is True
    assert figures["e.usage_ingestion"]["invoice_run_correct"] is True
    for worker in WORKERS:
        memory = figures[f"memory.{worker}-worker"]
        assert 20 < memory["value"] < 2000 and memory["met"] == (memory["value"] <= 300)

    path = tmp_path / "bench-report.json"
    write_report(report, path)
    assert json.loads(path.read_text())["figures"].keys() == figures.keys()
    printed = table(report)
    assert all(name in printed for name in figures)
