"""Conveniences for the subscription-lifecycle tests: account settings for a block, customers, add-ons."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from tests.support.client import TenureClient


@contextmanager
def account_settings(api: TenureClient, **values: Any):
    """Account settings for the block, restored after (the settings are one row for the whole stack)."""
    before = api.get("subscription", "/v1/settings")
    api.patch("subscription", "/v1/settings", values)
    try:
        yield
    finally:
        api.patch("subscription", "/v1/settings", {key: before[key] for key in values})


def plan(api: TenureClient, name: str, amount: int, **shape: Any) -> str:
    """A USD plan named `name` (monthly unless `interval` / `interval_count` / `trial_days` say otherwise)."""
    code = api.unique(name.lower().replace(" ", "-"))
    api.post("subscription", "/v1/plans", {"code": code, "name": name, "currency": "USD", "amount": amount, **shape})
    return code


def customer(api: TenureClient, clock: str, *, payment_method: str | None = "pm_test_ok", currency: str = "USD") -> str:
    return api.post(
        "subscription",
        "/v1/customers",
        {
            "email": f"{api.unique('c')}@example.com",
            "name": "Lifecycle Customer",
            "currency": currency,
            "payment_method": payment_method,
            "test_clock_id": clock,
        },
    )["id"]


def addon(api: TenureClient, name: str, amount: int, **shape: Any) -> str:
    """An add-on: pass interval="month" (recurring) or one_time=True."""
    code = api.unique(name.lower().replace(" ", "-"))
    api.post("subscription", "/v1/addons", {"code": code, "name": name, "currency": "USD", "amount": amount, **shape})
    return code


def lines(invoice: dict) -> list[tuple[str, int, str]]:
    return [(line["kind"], line["amount"], line["description"]) for line in invoice["lines"]]


def subscription(api: TenureClient, subscription_id: str) -> dict:
    return api.get("subscription", f"/v1/subscriptions/{subscription_id}")


def subscribed(api: TenureClient, plan_code: str, start: str = "2026-06-01T00:00:00Z") -> tuple[str, dict]:
    """A new customer on a fresh clock (frozen at `start`) subscribed to `plan_code`, settled: (clock, subscription)."""
    clock = api.create_clock(start)
    sub = api.post("subscription", "/v1/subscriptions", {"customer_id": customer(api, clock), "plan_code": plan_code})
    api.wait_ready(clock)
    return clock, sub
