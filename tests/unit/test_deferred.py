"""Deferred work: once per transaction with every item asked, in the order first asked, more
deferred while running runs too."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.deferred import defer, run_deferred


async def test_each_work_runs_once_with_every_item_in_the_order_first_asked():
    session = AsyncSession()  # never connects: deferred work lives in session.info
    calls: list[tuple[str, list[Any]]] = []

    async def recompute(_: AsyncSession, items: list[Any]) -> None:
        calls.append(("recompute", items))

    async def announce(_: AsyncSession, items: list[Any]) -> None:
        calls.append(("announce", items))

    defer(session, recompute, "cus_a")
    defer(session, announce, 1)
    defer(session, recompute, "cus_b")
    defer(session, recompute, "cus_a")
    await run_deferred(session)
    assert calls == [("recompute", ["cus_a", "cus_b", "cus_a"]), ("announce", [1])]
    await run_deferred(session)  # nothing left: nothing runs twice
    assert len(calls) == 2


async def test_work_deferred_while_running_runs_in_the_same_pass():
    session = AsyncSession()
    ran: list[str] = []

    async def second(_: AsyncSession, items: list[Any]) -> None:
        ran.extend(items)

    async def first(s: AsyncSession, items: list[Any]) -> None:
        ran.extend(items)
        defer(s, second, "then")

    defer(session, first, "first")
    await run_deferred(session)
    assert ran == ["first", "then"]


async def test_nothing_deferred_runs_nothing():
    await run_deferred(AsyncSession())
