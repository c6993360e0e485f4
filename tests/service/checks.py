"""What service-layer tests assert again and again: a problem+json refusal, and that nothing changed."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int, code: str) -> dict:
    """The response is a problem+json refusal with this status and stable code; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["code"] == code, response.text
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].endswith(code)
    return body


def created(response: httpx.Response, status: int = 201) -> dict:
    """The response has this success status; returns its JSON body."""
    assert response.status_code == status, response.text
    return response.json()


async def row_counts(session: AsyncSession, *tables: str) -> dict[str, int]:
    """Rows in each table, the outbox's included when named: a refusal must leave every count as it was."""
    return {table: await session.scalar(text(f"SELECT count(*) FROM {table}")) for table in tables}
