"""Work left for the end of the transaction.

A use case may ask for the same follow-up many times in one transaction (a batch of consumed events
about one customer asks for that customer's health recompute once per event). It defers the work
with an item instead; the entrypoint that owns the transaction (a request, a batch of events, a due
job, a dead-letter replay) runs each deferred piece of work once, with every item asked, just before
it commits: a batch of 200 events about 70 customers costs one recompute of 70 customers, not 200
recomputes of one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

DeferredWork = Callable[[AsyncSession, list[Any]], Awaitable[None]]
_QUEUE = "tenure_deferred"


def defer(session: AsyncSession, work: DeferredWork, item: Any) -> None:
    """Have `work(session, items)` run before this transaction commits, `item` among its items."""
    queue: dict[DeferredWork, list[Any]] = session.info.setdefault(_QUEUE, {})
    queue.setdefault(work, []).append(item)


async def run_deferred(session: AsyncSession) -> None:
    """Run the transaction's deferred work, in the order it was first asked for; work that defers
    more runs it too."""
    queue: dict[DeferredWork, list[Any]] = session.info.get(_QUEUE, {})
    while queue:
        work = next(iter(queue))
        await work(session, queue.pop(work))
