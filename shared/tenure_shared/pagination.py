"""Cursor lists: `?limit=` (default 20, max 100) and `?starting_after=<id>`, ordered by id.

An unknown cursor answers 422 `invalid_cursor` and an unknown filter value 422 `invalid_filter`,
never an empty list that looks like "nothing there".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel, BeforeValidator
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.errors import InvalidRequest, coded_error

Item = TypeVar("Item")


class ListPage(BaseModel, Generic[Item]):
    """A page of a list: route replies name the item type, e.g. `ListPage[PlanOut]`."""

    data: list[Item]
    has_more: bool


def filter_of(choices: type[StrEnum]) -> Any:
    """A query parameter filtering on one of the enum's values; absent or empty (`?status=`) means any.
    Used as `status: InvoiceStatusFilter = None` (the Query marker travels inside, with the validator)."""

    def check(value: Any) -> Any:
        if value in (None, ""):
            return None
        if value not in choices._value2member_map_:
            raise coded_error("invalid_filter", f"{value!r} is not one of: {', '.join(choices)}.")
        return value

    # Literal[""] is never reached (check maps it to None); it documents that an empty value is accepted.
    return Annotated[choices | Literal[""] | None, BeforeValidator(check), Query()]


class Page(BaseModel):
    limit: int = 20
    starting_after: str | None = None


def page_params(limit: int = Query(20, ge=1, le=100), starting_after: str | None = Query(None)) -> Page:
    return Page(limit=limit, starting_after=starting_after)


async def paginate(
    session: AsyncSession,
    statement: Select[*tuple[Any, ...]],
    id_column: Any,
    page: Page,
    *,
    filters: dict[Any, Any] | None = None,
) -> tuple[list[Any], bool]:
    """Rows after the cursor, and whether more follow. `filters` maps columns to wanted values;
    None or an empty string (`?status=`) means "any"."""
    for column, value in (filters or {}).items():
        if value not in (None, ""):
            statement = statement.where(column == value)
    if page.starting_after:
        known = await session.scalar(select(id_column).where(id_column == page.starting_after).limit(1))
        if known is None:
            raise InvalidRequest(f"No item {page.starting_after!r} to continue after.", code="invalid_cursor")
        statement = statement.where(id_column > page.starting_after)
    rows = list((await session.scalars(statement.order_by(id_column).limit(page.limit + 1))).all())
    return rows[: page.limit], len(rows) > page.limit
