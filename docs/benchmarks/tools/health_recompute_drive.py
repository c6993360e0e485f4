"""Driver: an embedded PostgreSQL under .tenure/hprof/pg (left running; STOP=1 stops it), a fresh
`hp4_health_score` database, then `recompute_db_benchmark(N)` (WORKERS=2,1 by default); prints its
figures and, for each timed day, the PostgreSQL processes' CPU seconds (from /proc) beside the
workers' (the report's `worker_cpu_s`). CPU seconds are the figure to compare on a shared, loaded
machine. Old code: PYTHONPATH=<other checkout>/services/health-score-svc.

    .venv/bin/python docs/benchmarks/tools/health_recompute_drive.py 20000
"""
import asyncio, json, os, sys, time
from pathlib import Path

from tenure_tools.stack import EmbeddedPostgres, migrate_all
from tenure_shared.db import make_engine, make_session_factory, service_database_url

WORK = Path(__file__).resolve().parents[3] / ".tenure" / "hprof"  # this checkout's


def postgres_cpu() -> float:
    """CPU seconds of every postgres process on the machine (ours is the only one running here),
    with the children they reaped (a worker's backend exits with the worker)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read()
        except OSError:
            continue
        name, fields = stat.split("(", 1)[1].split(")", 1)
        if name == "postgres":
            fields = fields.split()
            total += sum(int(f) for f in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def main():
    n = int(sys.argv[1])
    workers = tuple(int(w) for w in os.environ.get("WORKERS", "2,1").split(","))
    pg = EmbeddedPostgres(WORK / "pg")
    url = pg.start()
    try:
        pg._server.psql("DROP DATABASE IF EXISTS hp4_health_score;")
        migrate_all(url, "hp4_")
        hurl = service_database_url(url, "health-score", "hp4_")
        from tenure_health import bench

        original, server = bench._daily, []

        async def measured(*args, **kwargs):
            before = postgres_cpu()
            result = await original(*args, **kwargs)
            server.append(round(postgres_cpu() - before, 2))
            return result

        bench._daily = measured

        async def run():
            engine = make_engine(hurl)
            try:
                return await bench.recompute_db_benchmark(make_session_factory(engine), customers=n, workers=workers)
            finally:
                await engine.dispose()

        t0 = time.perf_counter()
        result = asyncio.run(run())
        print(json.dumps(result), "postgres_cpu_s per day (untimed first):", server, "load", os.getloadavg(), "total", round(time.perf_counter() - t0, 1), flush=True)
    finally:
        if os.environ.get("STOP"):
            pg.stop()


if __name__ == "__main__":
    main()
