"""Cursor lists: `?limit=` (default 20, max 100) and `?starting_after=<id>`, ordered by id."""

from __future__ import annotations

from typing import Any

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession


class Page(BaseModel):
    limit: int = 20
    starting_after: str | None = None


def page_params(limit: int = Query(20, ge=1, le=100), starting_after: str | None = Query(None)) -> Page:
    return Page(limit=limit, starting_after=starting_after)


async def paginate(
    session: AsyncSession, statement: Select, id_column: Any, page: Page, *, filters: dict[Any, Any] | None = None
) -> tuple[list[Any], bool]:
    """Rows after the cursor, and whether more follow. `filters` maps columns to wanted values;
    None or an empty string (`?status=`) means "any"."""
    for column, value in (filters or {}).items():
        if value not in (None, ""):
            statement = statement.where(column == value)
    if page.starting_after:
        statement = statement.where(id_column > page.starting_after)
    rows = list((await session.scalars(statement.order_by(id_column).limit(page.limit + 1))).all())
    return rows[: page.limit], len(rows) > page.limit
