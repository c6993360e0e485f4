"""The chaos workload: customers on test clocks renewing, failing payments, pausing, resuming and
changing plans over a few months, driven through the public API while faults run.

An API process may be down for a moment, so every request is retried on a refused connection or a
5xx, with one Idempotency-Key per logical POST: a retry can never create a second anything. A POST
cut off by a SIGKILL holds its key for a minute (`idempotency_key_in_use`), then a retry takes over.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.client import TenureClient

START = "2026-01-01T00:00:00Z"
# Business days at which the workload acts or the clocks are advanced to.
PAUSE_AT = "2026-01-10T00:00:00Z"
RESUME_AT = "2026-02-10T00:00:00Z"
MONTH_STARTS = ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"]

# What each customer does, by index modulo the number of kinds.
KINDS = ("renews", "declined", "fails_first", "pauses", "upgrades_now", "downgrades_at_term_end")
PAYMENT_METHODS = {"declined": "pm_test_declined", "fails_first": "pm_test_fail_first_1"}


class PatientClient(TenureClient):
    """A TenureClient that waits out an API process's restart instead of failing."""

    def __init__(self, urls: dict[str, str], api_key: str, patience: float = 120.0):
        super().__init__(urls, api_key)
        self.patience = patience
        self.retries = 0

    def request(self, service: str, method: str, path: str, *, expect: int | None = None, **kwargs: Any) -> httpx.Response:
        if method == "POST":
            kwargs["headers"] = {"Idempotency-Key": uuid.uuid4().hex, **kwargs.get("headers", {})}
        deadline = time.monotonic() + self.patience
        while True:
            try:
                response = super().request(service, method, path, **kwargs)
                in_use = response.status_code == 409 and "idempotency_key_in_use" in response.text
                if (response.status_code < 500 and not in_use) or time.monotonic() > deadline:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            self.retries += 1
            time.sleep(0.5)
        if expect is not None and response.status_code != expect:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response


@dataclass
class Customer:
    id: str
    kind: str
    clock: str
    subscription_id: str = ""


@dataclass
class Workload:
    api: TenureClient
    customers_per_clock: int
    clocks: int
    months: int = len(MONTH_STARTS)
    plans: dict[str, str] = field(default_factory=dict)
    customers: list[Customer] = field(default_factory=list)
    clock_ids: list[str] = field(default_factory=list)

    def setup(self) -> None:
        free_plan_code = self.api.get("subscription", "/v1/settings")["free_plan_code"]
        self._saved = (free_plan_code, self.api.get("dunning", "/v1/dunning-policy"))
        for name, amount in (("pro", 4900), ("plus", 9900), ("basic", 1900), ("free", 0)):
            code = self.api.unique(f"chaos-{name}")
            plan = {"code": code, "name": name, "currency": "USD", "amount": amount, "interval": "month"}
            self.api.post("subscription", "/v1/plans", plan)
            self.plans[name] = code
        self.api.patch("subscription", "/v1/settings", {"free_plan_code": self.plans["free"]})
        self.api.put("dunning", "/v1/dunning-policy", {"retry_after_days": [1, 3, 5], "final_action": "move_to_free_plan"})

    def restore(self) -> None:
        """Put back the account-wide settings changed by setup (other tests share the stack)."""
        free_plan_code, policy = self._saved
        self.api.patch("subscription", "/v1/settings", {"free_plan_code": free_plan_code})
        self.api.put("dunning", "/v1/dunning-policy", {k: policy[k] for k in ("retry_after_days", "final_action")})

    def subscribe_everyone(self) -> None:
        for _ in range(self.clocks):
            clock = self.api.create_clock(START)
            self.clock_ids.append(clock)
            for n in range(self.customers_per_clock):
                kind = KINDS[len(self.customers) % len(KINDS)]
                customer_id = self.api.post(
                    "subscription",
                    "/v1/customers",
                    {
                        "email": f"{self.api.unique('chaos')}@example.com",
                        "name": f"Chaos {kind} {n}",
                        "currency": "USD",
                        "payment_method": PAYMENT_METHODS.get(kind, "pm_test_ok"),
                        "test_clock_id": clock,
                    },
                )["id"]
                customer = Customer(customer_id, kind, clock)
                customer.subscription_id = self.api.post(
                    "subscription", "/v1/subscriptions", {"customer_id": customer_id, "plan_code": self.plans["pro"]}
                )["id"]
                self.customers.append(customer)
        self.wait_all()

    def run_months(self) -> None:
        self.advance_all(PAUSE_AT)
        for customer in self.of_kind("pauses"):
            self.api.post("subscription", f"/v1/subscriptions/{customer.subscription_id}/pause", {})
        for customer in self.of_kind("upgrades_now"):
            self.change(customer, "plus", "now")
        for customer in self.of_kind("downgrades_at_term_end"):
            self.change(customer, "basic", "end_of_term")
        self.advance_all(MONTH_STARTS[0])
        self.advance_all(RESUME_AT)
        for customer in self.of_kind("pauses"):
            self.api.post("subscription", f"/v1/subscriptions/{customer.subscription_id}/resume", {})
        for month_start in MONTH_STARTS[1 : self.months]:
            self.advance_all(month_start)

    def change(self, customer: Customer, plan: str, when: str) -> None:
        self.api.post(
            "subscription", f"/v1/subscriptions/{customer.subscription_id}/changes", {"plan_code": self.plans[plan], "when": when}
        )

    def of_kind(self, kind: str) -> list[Customer]:
        return [c for c in self.customers if c.kind == kind]

    def advance_all(self, frozen_time: str) -> None:
        for clock in self.clock_ids:
            self.api.post("subscription", f"/v1/test-clocks/{clock}/advance", {"frozen_time": frozen_time})
        self.wait_all()

    def wait_all(self, timeout: float = 600.0) -> None:
        for clock in self.clock_ids:
            self.api.wait_ready(clock, timeout=timeout)

    @property
    def last_business_time(self) -> str:
        return MONTH_STARTS[self.months - 1]
