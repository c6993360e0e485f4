"""Conveniences for the discount tests: a coupon, a customer on a clock subscribed with a code."""

from __future__ import annotations

from tests.support.client import TenureClient


def coupon(api: TenureClient, name: str, **terms) -> str:
    code = api.unique(name).upper()
    api.post("subscription", "/v1/coupons", {"code": code, "name": name, **terms})
    return code


def customer_on(api: TenureClient, clock: str, *, payment_method: str | None = "pm_test_ok") -> str:
    body = {
        "email": f"{api.unique('d')}@example.com",
        "name": "Discount Customer",
        "currency": "USD",
        "payment_method": payment_method,
        "test_clock_id": clock,
    }
    return api.post("subscription", "/v1/customers", body)["id"]


def subscribe_with(api: TenureClient, clock: str, plan_code: str, **codes) -> tuple[str, dict]:
    customer = customer_on(api, clock)
    subscription = api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": plan_code, **codes})
    api.wait_ready(clock)
    return customer, subscription


def discount_lines(invoice: dict) -> list[int]:
    return [line["amount"] for line in invoice["lines"] if line["kind"] == "discount"]
