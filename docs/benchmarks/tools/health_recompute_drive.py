"""Driver: fresh embedded PG DB, migrate, run recompute_db_benchmark(N); TIMING=1 aggregates SQL time per statement."""
import asyncio, sys, time, os, collections, re
from pathlib import Path
from sqlalchemy import event
from tenure_tools.stack import EmbeddedPostgres, migrate_all
from tenure_shared.db import make_engine, make_session_factory, service_database_url

def main():
    n = int(sys.argv[1])
    pg = EmbeddedPostgres(Path("/tmp/hp3/pg"))
    url = pg.start()
    pg._server.psql("DROP DATABASE IF EXISTS hp3_health_score;")
    migrate_all(url, "hp3_")
    hurl = service_database_url(url, "health-score", "hp3_")
    from tenure_health import bench
    stats = collections.defaultdict(lambda: [0, 0.0])
    async def run():
        engine = make_engine(hurl)
        if os.environ.get("TIMING"):
            se = engine.sync_engine
            @event.listens_for(se, "before_cursor_execute")
            def b(conn, cursor, statement, params, context, executemany):
                conn.info["t0"] = time.perf_counter()
            @event.listens_for(se, "after_cursor_execute")
            def a(conn, cursor, statement, params, context, executemany):
                key = re.sub(r"\s+", " ", statement)[:110]
                s = stats[key]; s[0] += 1; s[1] += time.perf_counter() - conn.info["t0"]
        try:
            return await bench.recompute_db_benchmark(make_session_factory(engine), customers=n)
        finally:
            await engine.dispose()
    r = asyncio.run(run())
    print(r, flush=True)
    for k, (c, t) in sorted(stats.items(), key=lambda kv: -kv[1][1])[:25]:
        print(f"{t:8.2f}s {c:6d}  {k}")

if __name__ == "__main__":
    main()
