"""Each service's migrations build exactly the tables its models declare (an `alembic check` per
service): a model changed without a migration, or a migration that drifted from its model, fails
here with the differences autogenerate would write."""

from __future__ import annotations

import asyncio
import sys

import pytest

from tenure_tools.services import PACKAGES
from tests.integration.conftest import _scratch_database


@pytest.mark.parametrize("service", sorted(PACKAGES))
async def test_migrations_match_models(stack, service):
    async for url, _sessions in _scratch_database(stack, PACKAGES[service]):
        check = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.migration_drift",
            PACKAGES[service],
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await check.communicate()
    assert check.returncode == 0, err.decode()
    assert out.decode().strip() == "", f"{service}: models and migrations differ:\n{out.decode()}"
