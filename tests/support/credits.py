"""Conveniences for the pause, resume and credit tests: a plan, a customer on a clock, a subscription."""

from __future__ import annotations

from contextlib import contextmanager

from tests.support.client import TenureClient


def plan(api: TenureClient, name: str, amount: int, interval: str = "month") -> str:
    code = api.unique(name)
    api.post("subscription", "/v1/plans", {"code": code, "name": name, "currency": "USD", "amount": amount, "interval": interval})
    return code


def subscribe(api: TenureClient, clock: str, plan_code: str, *, payment_method: str | None = "pm_test_ok") -> tuple[str, dict]:
    """A customer on `clock` subscribed to `plan_code` now; returns (customer id, subscription)."""
    customer = api.post(
        "subscription",
        "/v1/customers",
        {
            "email": f"{api.unique('c')}@example.com",
            "name": "Credit Customer",
            "currency": "USD",
            "payment_method": payment_method,
            "test_clock_id": clock,
        },
    )["id"]
    subscription = api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": plan_code})
    api.wait_ready(clock)
    return customer, subscription


def credit_notes(api: TenureClient, **params: str) -> list[dict]:
    return api.get("credit", "/v1/credit-notes", params={"limit": 100, **params})["data"]


def balance(api: TenureClient, customer: str, currency: str = "USD") -> int:
    balances = api.get("credit", f"/v1/customers/{customer}/credit-balance")["balances"]
    return next((b["amount"] for b in balances if b["currency"] == currency), 0)


def problem(api: TenureClient, service: str, path: str, body: dict, status: int) -> dict:
    """POST expecting a refusal: returns its problem+json body."""
    response = api.request(service, "POST", path, json=body, expect=status)
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


@contextmanager
def redeem_credits(api: TenureClient, value: bool):
    """Account setting `redeem_credits` for the block, restored after."""
    before = api.get("subscription", "/v1/settings")["redeem_credits"]
    api.patch("subscription", "/v1/settings", {"redeem_credits": value})
    try:
        yield
    finally:
        api.patch("subscription", "/v1/settings", {"redeem_credits": before})


def manual_note(api: TenureClient, customer: str, amount: int, currency: str = "USD") -> dict:
    body = {"customer_id": customer, "amount": amount, "currency": currency, "description": "goodwill"}
    return api.post("credit", "/v1/credit-notes", body)


def refusal(api: TenureClient, service: str, path: str, body: dict, status: int) -> str:
    """The stable code of a refused POST."""
    return problem(api, service, path, body, status)["code"]
