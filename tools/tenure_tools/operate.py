"""`tenure dead-letters`, `tenure jobs`, `tenure ops`: an operator's view of stuck work.

They talk to each service's `/internal` routes (tenure_shared.ops) with TENURE_INTERNAL_TOKEN, at
the service URLs of the environment (SUBSCRIPTION_SVC_URL …), as the services reach each other.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import typer

from tenure_shared.internal_http import quote_id
from tenure_shared.settings import ServiceSettings
from tenure_tools.services import PACKAGES, SERVICES

dead_letters_app = typer.Typer(help="Events a handler refused: list, show, replay, discard.", no_args_is_help=True)
jobs_app = typer.Typer(help="Due jobs: list (e.g. the failed ones) and retry.", no_args_is_help=True)

REPLAY_WAIT_SECONDS = 15.0


def _service(value: str) -> str:
    if value not in PACKAGES:
        raise typer.BadParameter(f"one of {', '.join(SERVICES)}")
    return value


ServiceOption = typer.Option(..., "--service", "-s", callback=_service, help=f"One of {', '.join(SERVICES)}.")


def _call(service: str, method: str, path: str, **params: Any) -> Any:
    settings = ServiceSettings()
    url = settings.service_urls()[service] + path
    query = {k: v for k, v in params.items() if v is not None}
    try:
        response = httpx.request(
            method, url, params=query, headers={"Authorization": f"Bearer {settings.internal_token}"}, timeout=10
        )
    except httpx.HTTPError as exc:
        typer.echo(f"{service}: {url} did not answer ({exc})", err=True)
        raise typer.Exit(2) from exc
    if response.status_code >= 400:
        typer.echo(f"{service}: {response.status_code} {response.text}", err=True)
        raise typer.Exit(1)
    return response.json()


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


def _table(rows: list[list[Any]], header: list[str]) -> None:
    cells = [header] + [["-" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@dead_letters_app.command("list")
def list_dead_letters(
    service: str = ServiceOption,
    event_type: str = typer.Option(None, "--type", help="Only this event type."),
    topic: str = typer.Option(None, help="Only events from this topic."),
    status: str = typer.Option(None, help="dead_lettered, replay_requested, discarded, handled."),
) -> None:
    """Dead letters of one service, newest first."""
    answer = _call(service, "GET", "/internal/dead-letters", event_type=event_type, topic=topic, status=status)
    rows = [
        [d["event_id"], d["event_type"], d["topic"], d["status"], d["dead_lettered_at"], (d["error"] or "")[:60]]
        for d in answer["data"]
    ]
    _table(rows, ["event_id", "type", "topic", "status", "dead_lettered_at", "error"])


@dead_letters_app.command("show")
def show_dead_letter(event_id: str, service: str = ServiceOption) -> None:
    """One dead letter with its whole envelope and error."""
    _print(_call(service, "GET", f"/internal/dead-letters/{quote_id(event_id)}"))


@dead_letters_app.command("replay")
def replay_dead_letter(event_id: str, service: str = ServiceOption) -> None:
    """Run the handler again (in the service's worker) and wait for the outcome."""
    path = f"/internal/dead-letters/{quote_id(event_id)}"
    row = _call(service, "POST", path + "/replay")
    deadline = time.monotonic() + REPLAY_WAIT_SECONDS
    while row["status"] == "replay_requested" and time.monotonic() < deadline:
        time.sleep(0.3)
        row = _call(service, "GET", path)
    typer.echo(f"{event_id}: {row['status']}" + (f" ({row['error']})" if row["error"] else ""))
    if row["status"] not in ("handled", "ignored"):
        raise typer.Exit(1)


@dead_letters_app.command("discard")
def discard_dead_letter(event_id: str, service: str = ServiceOption) -> None:
    """Mark a dead letter as looked at, with nothing more to do."""
    row = _call(service, "POST", f"/internal/dead-letters/{quote_id(event_id)}/discard")
    typer.echo(f"{event_id}: {row['status']}")


@jobs_app.command("list")
def list_jobs(
    service: str = ServiceOption,
    status: str = typer.Option("failed", help="pending, done, cancelled or failed."),
    kind: str = typer.Option(None, help="Only this kind of job."),
) -> None:
    """Due jobs of one service (the failed ones unless --status says otherwise)."""
    answer = _call(service, "GET", "/internal/jobs", status=status, kind=kind)
    rows = [
        [j["id"], j["kind"], j["key"], j["status"], j["attempts"], j["next_attempt_at"], (j["last_error"] or "")[:60]]
        for j in answer["data"]
    ]
    _table(rows, ["id", "kind", "key", "status", "attempts", "next_attempt_at", "last_error"])


@jobs_app.command("retry")
def retry_job(job_id: int, service: str = ServiceOption) -> None:
    """Put a failed job back to pending; it runs at the next pass."""
    job = _call(service, "POST", f"/internal/jobs/{job_id}/retry")
    typer.echo(f"job {job['id']} ({job['kind']} {job['key']}): {job['status']}")


def ops() -> None:
    """Dead letters, failed and waiting jobs and outbox lag of every service, in one table."""
    rows = []
    for service in SERVICES:
        view = _call(service, "GET", "/internal/ops")
        dead = view["dead_letters"]
        rows.append(
            [
                service,
                dead.get("dead_lettered", 0),
                dead.get("replay_requested", 0),
                view["jobs"]["failed"],
                view["jobs"]["waiting"],
                view["jobs"]["pending"],
                view["outbox"]["unsent"],
                view["outbox"]["oldest_unsent_age_seconds"],
            ]
        )
    _table(
        rows, ["service", "dead_letters", "replaying", "failed_jobs", "waiting_jobs", "pending_jobs", "unsent", "oldest_unsent_s"]
    )
