"""Driver: an embedded PostgreSQL under .tenure/hprof/pg (left running; STOP=1 stops it), a fresh
`hp4_health_score` database, then `recompute_db_benchmark(N)`; prints its figures and, for the timed
day, the client process's CPU, the PostgreSQL backend's CPU (from /proc) and the wall time. CPU
seconds are the figure to compare on a shared, loaded machine. MODE=profile adds a cProfile of the
timed day. Old code: PYTHONPATH=<main checkout>/services/health-score-svc.

    .venv/bin/python docs/benchmarks/tools/health_recompute_drive.py 20000
"""
import asyncio, cProfile, os, pstats, sys, time
from pathlib import Path

WORK = Path(__file__).resolve().parents[3] / ".tenure" / "hprof"  # this checkout's
from tenure_tools.stack import EmbeddedPostgres, migrate_all
from tenure_shared.db import make_engine, make_session_factory, service_database_url

def main():
    n = int(sys.argv[1])
    pg = EmbeddedPostgres(WORK / "pg")
    url = pg.start()
    try:
        pg._server.psql("DROP DATABASE IF EXISTS hp4_health_score;")
        migrate_all(url, "hp4_")
        hurl = service_database_url(url, "health-score", "hp4_")
        from tenure_health import bench, service
        prof = cProfile.Profile() if os.environ.get("MODE") == "profile" else None
        original = service.recompute_clock
        cpu = {}
        def backend_cpu(pid):
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        async def measured(session, *, clock_id, at):
            from sqlalchemy import text
            if at != bench.NOW:
                return await original(session, clock_id=clock_id, at=at)
            pid = await session.scalar(text("select pg_backend_pid()"))
            b0, c0, w0 = backend_cpu(pid), time.process_time(), time.perf_counter()
            if prof:
                prof.enable()
            try:
                return await original(session, clock_id=clock_id, at=at)
            finally:
                if prof:
                    prof.disable()
                cpu.update(client_cpu=round(time.process_time() - c0, 2), server_cpu=round(backend_cpu(pid) - b0, 2), wall=round(time.perf_counter() - w0, 2))
        bench.recompute_clock = measured
        async def run():
            engine = make_engine(hurl)
            try:
                return await bench.recompute_db_benchmark(make_session_factory(engine), customers=n)
            finally:
                await engine.dispose()
        t0 = time.perf_counter()
        r = asyncio.run(run())
        print(r, cpu, "load", os.getloadavg(), "total", round(time.perf_counter() - t0, 1), flush=True)
        if prof:
            prof.dump_stats(WORK / "recompute.prof")
            st = pstats.Stats(prof); st.sort_stats("tottime").print_stats(35); st.sort_stats("cumtime").print_stats(60)
    finally:
        if os.environ.get("STOP"):
            pg.stop()

if __name__ == "__main__":
    main()
