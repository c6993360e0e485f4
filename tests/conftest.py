"""Test fixtures: one real stack for the whole run.

PostgreSQL and the broker are the embedded ones unless DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS
name external servers; the services run as real processes (an API and a worker each) on free
ports, exactly as `tenure dev` runs them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from tenure_tools.mail_catcher import MailCatcher
from tenure_tools.services import SERVICES
from tenure_tools.stack import Stack, free_port, free_ports
from tests.support.client import TenureClient

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "tenure_test_key"
READ_ONLY_API_KEY = "tenure_test_read_only_key"


@pytest.fixture(scope="session")
def mail_catcher():
    """A real SMTP server in the test process: every email the services send lands here."""
    catcher = MailCatcher(free_port())
    catcher.start()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="session")
def stack(mail_catcher):
    """PostgreSQL, the broker, migrations and topics, and all twelve service processes."""
    state_dir = ROOT / ".tenure" / f"test-{os.getpid()}"
    *api_ports, broker_port = free_ports(len(SERVICES) + 1)
    instance = Stack(
        state_dir=state_dir,
        ports=dict(zip(SERVICES, api_ports, strict=True)),
        broker_port=broker_port,
        api_key=API_KEY,
        database_url=os.environ.get("DATABASE_URL"),
        # On an external server the tests get databases of their own.
        database_prefix=f"tenure_test_{uuid.uuid4().hex[:6]}_" if os.environ.get("DATABASE_URL") else "tenure_",
        kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
        extra_env={"TENURE_READ_ONLY_API_KEY": READ_ONLY_API_KEY, "SMTP_URL": mail_catcher.url},
    )
    try:
        instance.start_servers()
        instance.start_services()
        yield instance
    finally:
        instance.stop()
        if os.environ.get("TENURE_KEEP_TEST_STATE") != "1":
            shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def api(stack) -> TenureClient:
    client = TenureClient({s: stack.url(s) for s in SERVICES}, API_KEY)
    yield client
    client.close()
