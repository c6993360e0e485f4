"""`python -m tests.support.migration_drift <package> <database url>`: prints, one per line, the
differences alembic's autogenerate finds between a migrated database and the package's models.

Its own process per service, because services may declare tables of the same name (each has its
own database) and one process's MetaData can hold only one of them.
"""

from __future__ import annotations

import asyncio
import importlib
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tenure_shared.db import Base, make_engine


def _differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def main(package: str, url: str) -> None:
    # The API and the worker import every model the service runs, its own and the shared mechanisms'.
    importlib.import_module(f"{package}.main")
    importlib.import_module(f"{package}.worker")
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            for difference in await connection.run_sync(_differences):
                print(difference)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
