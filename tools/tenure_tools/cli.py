"""The `tenure` command."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from tenure_shared.settings import DEV_API_KEY, ServiceSettings
from tenure_tools.operate import dead_letters_app, jobs_app, ops
from tenure_tools.services import PACKAGES, SERVICES
from tenure_tools.stack import Stack, create_topics, default_state_dir, free_port, migrate_all

DEV_SMTP_PORT = 1025
# No local variables in tracebacks: they would print database URLs with passwords.
app = typer.Typer(
    help="Tenure: subscription lifecycle backend.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(jobs_app, name="jobs")
app.command()(ops)


def _check_service(service: str) -> str:
    if service not in PACKAGES:
        raise typer.BadParameter(f"one of {', '.join(SERVICES)}")
    return service


@app.command()
def dev(
    workers: int = typer.Option(2, min=1, help="Worker processes per service (all active; they share the work)."),
) -> None:
    """Start PostgreSQL, a Kafka broker, a mail catcher and all six services; Ctrl-C stops everything."""
    started = time.monotonic()
    from tenure_tools.mail_catcher import MailCatcher  # aiosmtpd comes with the `embedded` extra

    state_dir = default_state_dir()
    # Emails go to a local catcher unless SMTP_URL names a real server.
    catcher = None if os.environ.get("SMTP_URL") else MailCatcher(free_port(DEV_SMTP_PORT), folder=state_dir / "mail")
    stack = Stack(
        state_dir=state_dir,
        api_key=os.environ.get("TENURE_API_KEY", DEV_API_KEY),
        database_url=os.environ.get("DATABASE_URL"),
        database_prefix=os.environ.get("TENURE_DATABASE_PREFIX", "tenure_"),
        kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
        broker_port=int(os.environ.get("TENURE_BROKER_PORT", "19092")),
        extra_env={"SMTP_URL": catcher.url} if catcher else {},
        workers=workers,
    )
    stop_requested = False

    def request_stop(*_: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        typer.echo("Starting PostgreSQL and the broker, migrating, creating topics…")
        stack.start_servers()
        if catcher:
            catcher.start()
        typer.echo("Starting the services…")
        stack.start_services()
        typer.echo(f"\nTenure is up in {time.monotonic() - started:.1f} s.\n")
        for service in SERVICES:
            typer.echo(f"  {service:<13} {stack.url(service)}   docs: {stack.url(service)}/docs")
        typer.echo(f"\n  PostgreSQL    {stack.database_url}")
        typer.echo(f"  Kafka         {stack.kafka_bootstrap}")
        typer.echo(f"  API key       {stack.api_key}   (Authorization: Bearer {stack.api_key})")
        if catcher:
            typer.echo(f"  Emails        caught by {catcher.url}, each saved as an .eml file in {catcher.folder}")
        else:
            typer.echo("  Emails        sent to the SMTP server of SMTP_URL")
        typer.echo(f"  Logs          {stack.state_dir / 'logs'}\n\nCtrl-C stops everything.")
        while not stop_requested:
            for process in stack.restart_stopped():
                typer.echo(f"{process.service} {process.role} exited; restarted (log: {process.log_path})", err=True)
            time.sleep(0.5)
    except RuntimeError as exc:  # a port in use, a server that would not start: say so plainly
        typer.echo(f"tenure dev: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        typer.echo("\nStopping…")
        stack.stop()
        if catcher:
            catcher.stop()


@app.command()
def migrate() -> None:
    """Create each service's database if missing and run its migrations."""
    settings = ServiceSettings()
    migrate_all(settings.database_url, settings.database_prefix)
    typer.echo("migrated")


@app.command()
def topics() -> None:
    """Create the Kafka topics (and their dead-letter topics)."""
    asyncio.run(create_topics(ServiceSettings().kafka_bootstrap_servers))
    typer.echo("topics ready")


@app.command()
def api(service: str = typer.Argument(..., callback=_check_service)) -> None:
    """Serve one service's HTTP API."""
    os.environ["TENURE_SERVICE"] = service
    settings = ServiceSettings().model_copy(update={"service_name": service})
    port = str(settings.api_port())
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"{PACKAGES[service]}.main:app",
            "--host",
            settings.host,
            "--port",
            port,
            "--no-access-log",
        ],
    )


@app.command()
def worker(service: str = typer.Argument(..., callback=_check_service)) -> None:
    """Run one service's worker (outbox relay, consumers, due work)."""
    raise SystemExit(subprocess.call([sys.executable, "-m", f"{PACKAGES[service]}.worker"]))


DEFAULT_REPORT = Path("bench-report.json")


@app.command()
def bench(
    size: str = typer.Option("default", help="smoke | default (about 15 minutes here) | full (the issue's sizes: hours)."),
    workers: str = typer.Option("1,2", help="Worker processes per service for the renewal run, comma-separated."),
    report: Annotated[Path, typer.Option(help="Where the JSON report goes.")] = DEFAULT_REPORT,
    profile: Annotated[
        Path | None, typer.Option(help="py-spy every service process (APIs too) in the 1-worker renewal run, to here.")
    ] = None,
    keep: bool = typer.Option(False, help="Keep the stacks' state directories (logs, data) afterwards."),
    only: str = typer.Option(
        "", help="Run only these parts, comma-separated: ceilings, a, b, c (runs a too), d, e, f, health. Default: all."
    ),
    renewals: int | None = typer.Option(None, help="Subscriptions in the renewal run (a), instead of the size's."),
) -> None:
    """Every figure beside its ceiling, measured in the same run on a fresh stack: see docs/benchmarks/README.md."""
    from tenure_tools.bench.report import table, write_report
    from tenure_tools.bench.run import PARTS, SIZES, run_bench

    if size not in SIZES:
        raise typer.BadParameter(f"one of {', '.join(SIZES)}", param_hint="--size")
    parts = frozenset(p.strip() for p in only.split(",") if p.strip()) or frozenset(PARTS)
    if unknown := parts - set(PARTS):
        raise typer.BadParameter(f"{', '.join(sorted(unknown))}: choose from {', '.join(PARTS)}", param_hint="--only")
    result = run_bench(
        size,
        worker_counts=tuple(int(n) for n in workers.split(",")),
        profile_dir=profile,
        keep=keep,
        overrides={"renewal_subscriptions": renewals} if renewals else None,
        checkpoint=lambda partial: write_report(partial, report),
        only=parts,
    )
    write_report(result, report)
    typer.echo(table(result))
    typer.echo(f"Report: {report}")


if __name__ == "__main__":
    app()
