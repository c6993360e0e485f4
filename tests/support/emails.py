"""Customer emails as the notification log shows them."""

from __future__ import annotations

import time

from tests.support.client import TenureClient


def emails_of(api: TenureClient, customer_id: str, **params: str) -> list[dict]:
    return api.list_all("notification", "/v1/emails", customer_id=customer_id, **params)


def wait_for_emails(api: TenureClient, customer_id: str, count: int, timeout: float = 60.0, **params: str) -> list[dict]:
    """Emails are sent by the worker in real time, not on the test clock: poll the log."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in emails_of(api, customer_id, **params) if e["status"] != "pending"]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} of {count} emails {params} for {customer_id} within {timeout} s")
        time.sleep(0.1)
