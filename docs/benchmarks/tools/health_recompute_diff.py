"""Equivalence check: seed a varied population (subscriptions of every status, invoices, billing
facts of every kind, dunning, usage, activity with and without users, open and closed tickets, NPS
and CSAT) on two clocks, recompute 4 days (the second clock under a model with other windows and an
activation), then one customer alone; dump every customer's health, history row and event. Run once
with the old code (PYTHONPATH=<main checkout>/services/health-score-svc) and once with the new, then
compare the two dumps (they must be equal).

    .venv/bin/python docs/benchmarks/tools/health_recompute_diff.py /tmp/new.json 3000
"""
import asyncio, json, os, random, sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from tenure_tools.stack import EmbeddedPostgres, migrate_all
from tenure_shared.db import make_engine, make_session_factory, service_database_url

N = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
PREFIX = "hd_"

def rows(clock, rng, NOW):
    def ago(lo, hi):
        return NOW - timedelta(days=rng.uniform(lo, hi))
    t = {k: [] for k in ("customers", "subs", "invoices", "facts", "dunning", "usage", "activity", "tickets", "surveys")}
    for n in range(N):
        cid = f"cus_{clock[-6:]}{n:06d}"
        started = ago(-2, 60)  # a few start in the future of the early days
        t["customers"].append((cid, clock, started, ago(0, 50) if rng.random() < 0.2 else None, 0, False))
        for k in range(rng.choice([0, 1, 1, 1, 2])):
            start = ago(0, 40)
            end = start + timedelta(days=rng.choice([30, 31, 365])) if rng.random() < 0.9 else None
            t["subs"].append((f"sub_{cid}_{k}", cid, rng.choice(["active", "active", "active", "cancelled", "expired", "paused", "trialing"]),
                              "p", 1000, rng.randint(1, 20), start, end, rng.random() < 0.1, rng.choice([0, 0, 100, 500, 1000]), rng.random() < 0.15))
        for k in range(rng.randint(0, 2)):
            t["invoices"].append((f"inv_{cid}_{k}", cid, rng.choice(["open", "paid", "void"]), rng.choice([0, 500]), ago(0, 40) if rng.random() < 0.3 else None))
        for k in range(rng.randint(0, 5)):
            t["facts"].append((cid, rng.choice(["payment_failed", "downgrade", "upgrade", "seats_grew", "pause", "free_plan_move", "renewed", "churned"]), ago(-3, 130)))
        if rng.random() < 0.15:
            t["dunning"].append((f"dun_{cid}", cid, rng.choice(["retrying", "recovered"]), ago(0, 20)))
        for k in range(rng.choice([0, 0, 3, 10, 25])):
            t["usage"].append((cid, ago(-3, 100), Decimal(rng.randint(0, 400)) / 4))
        users = rng.random() < 0.5
        for k in range(rng.choice([0, 1, 5, 20, 40])):
            t["activity"].append((f"act_{cid}_{k}", cid, rng.choice(["login", "report", "setup"]), f"u{rng.randint(1, 6)}" if users and rng.random() < 0.8 else None, ago(-3, 60)))
        for k in range(rng.choice([0, 0, 1, 3, 6])):
            opened = ago(-2, 120)
            closed = opened + timedelta(days=rng.uniform(0, 12)) if rng.random() < 0.6 else None
            t["tickets"].append((f"tkt_{cid}_{k}", cid, opened, closed, rng.choice(["low", "normal", "high", "urgent"]), "closed" if closed and rng.random() < 0.9 else "open"))
        for k in range(rng.choice([0, 1, 2, 3])):
            kind = rng.choice(["nps", "csat"])
            t["surveys"].append((f"srv_{cid}_{k}", cid, kind, rng.randint(0, 10) if kind == "nps" else rng.randint(1, 5), ago(-2, 200)))
    return t

COLUMNS = {
    "customers": ("health_customers", ("id", "clock_id", "started_at", "first_value_at", "version", "risk_episode_open")),
    "subs": ("health_subscriptions", ("id", "customer_id", "status", "plan_code", "plan_amount", "quantity", "current_period_start", "current_period_end", "on_free_plan", "included_units", "cancellation_scheduled")),
    "invoices": ("health_invoices", ("id", "customer_id", "status", "amount_due", "first_failed_at")),
    "facts": ("health_billing_facts", ("customer_id", "kind", "at")),
    "dunning": ("health_dunning_cases", ("id", "customer_id", "status", "started_at")),
    "usage": ("health_usage", ("customer_id", "at", "units")),
    "activity": ("health_activity", ("id", "customer_id", "name", "user_id", "at")),
    "tickets": ("health_tickets", ("id", "customer_id", "opened_at", "closed_at", "severity", "status")),
    "surveys": ("health_surveys", ("id", "customer_id", "kind", "score", "answered_at")),
}

MODEL_B = {"activation": {"activity_name": "setup", "usage_units": 40}, "adoption": {"window_days": 14},
           "engagement": {"window_days": 10, "active_days_target": 5, "recency_full_days": 0, "recency_zero_days": 12},
           "support": {"window_days": 20, "baseline_days": 60}, "sentiment": {"window_days": 60}, "payment": {"window_days": 120, "recent_days": 10},
           "billing_friction": {"window_days": 30}, "risk_drop_days": 3, "risk_drop_points": 5, "onboarding_days": 20}

def main():
    out = sys.argv[1]
    pg = EmbeddedPostgres(Path(__file__).resolve().parents[3] / ".tenure" / "hprof" / "pg")  # this checkout's
    url = pg.start()
    pg._server.psql(f"DROP DATABASE IF EXISTS {PREFIX}health_score;")
    migrate_all(url, PREFIX)
    hurl = service_database_url(url, "health-score", PREFIX)
    from tenure_health import bench, repository, service
    from sqlalchemy import text
    NOW = bench.NOW
    async def run():
        engine = make_engine(hurl)
        sessions = make_session_factory(engine)
        try:
            for clock, model in (("clock_aaaaaaaa", None), ("clock_bbbbbbbb", MODEL_B)):
                rng = random.Random(clock)
                async with sessions() as s, s.begin():
                    if model:
                        await service.put_model(s, body=model)
                    conn = await (await s.connection()).get_raw_connection()
                    for key, records in rows(clock, rng, NOW).items():
                        table, cols = COLUMNS[key]
                        await conn.driver_connection.copy_records_to_table(table, records=records, columns=cols)
                for day in (3, 2, 1, 0):  # the daily recompute's work, in its chunks, in one transaction
                    async with sessions() as s, s.begin():
                        ids = await repository.customer_ids_on_clock(s, clock)
                        for start in range(0, len(ids), service.RECOMPUTE_CHUNK):
                            chunk = ids[start : start + service.RECOMPUTE_CHUNK]
                            await service.recompute_many(s, customer_ids=chunk, at=NOW - timedelta(days=day))
                # one customer alone, as the real-time path does
                async with sessions() as s, s.begin():
                    await service.recompute(s, customer_id=f"cus_{clock[-6:]}000007", at=NOW + timedelta(hours=5))
            async with sessions() as s:
                dump = {}
                dump["customers"] = [list(map(str, r)) for r in await s.execute(text(
                    "select id, score, status, stage, profile, factors, first_value_at, risk_episode_open, computed_at from health_customers order by id"))]
                dump["history"] = [list(map(str, r)) for r in await s.execute(text(
                    "select customer_id, computed_at, score, status, stage, factors from health_scores order by customer_id, computed_at"))]
                dump["events"] = [list(map(str, r)) for r in await s.execute(text(
                    "select key, event_type, envelope->'data', envelope->>'time', envelope->>'tenureclock' from outbox_messages order by key, envelope->>'time', event_type, envelope->'data'->>'computed_at'"))]
            Path(out).write_text(json.dumps(dump, indent=0))
            print({k: len(v) for k, v in dump.items()})
        finally:
            await engine.dispose()
    asyncio.run(run())

main()
