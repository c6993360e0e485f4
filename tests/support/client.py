"""A small client for the public API, as a user's integration would drive it."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx


class ApiError(AssertionError):
    def __init__(self, response: httpx.Response):
        super().__init__(f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}")
        self.response = response


class TenureClient:
    """One httpx client per service, all with the bearer key."""

    def __init__(self, urls: dict[str, str], api_key: str):
        self.urls = urls
        self.api_key = api_key
        self.http = httpx.Client(headers={"Authorization": f"Bearer {api_key}"}, timeout=60)

    def close(self) -> None:
        self.http.close()

    def request(self, service: str, method: str, path: str, *, expect: int | None = None, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, self.urls[service] + path, **kwargs)
        if expect is not None and response.status_code != expect:
            raise ApiError(response)
        return response

    def get(self, service: str, path: str, **kwargs: Any) -> Any:
        response = self.request(service, "GET", path, **kwargs)
        if response.status_code >= 400:
            raise ApiError(response)
        return response.json()

    def post(self, service: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        response = self.request(service, "POST", path, json=json, **kwargs)
        if response.status_code >= 400:
            raise ApiError(response)
        return response.json()

    def patch(self, service: str, path: str, json: Any) -> Any:
        response = self.request(service, "PATCH", path, json=json)
        if response.status_code >= 400:
            raise ApiError(response)
        return response.json()

    def put(self, service: str, path: str, json: Any) -> Any:
        response = self.request(service, "PUT", path, json=json)
        if response.status_code >= 400:
            raise ApiError(response)
        return response.json()

    # ---- conveniences a test reads better with ----

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def create_clock(self, frozen_time: str) -> str:
        return self.post("subscription", "/v1/test-clocks", {"frozen_time": frozen_time})["id"]

    def wait_ready(self, clock_id: str, timeout: float = 120.0) -> dict:
        """Poll the clock until every service has finished the work due up to its time."""
        deadline = time.monotonic() + timeout
        while True:
            clock = self.get("subscription", f"/v1/test-clocks/{clock_id}")
            if clock["status"] == "ready":
                return clock
            if time.monotonic() > deadline:
                raise AssertionError(f"test clock {clock_id} not ready after {timeout} s: {clock}")
            time.sleep(0.05)

    def advance(self, clock_id: str, frozen_time: str, timeout: float = 120.0) -> dict:
        self.post("subscription", f"/v1/test-clocks/{clock_id}/advance", {"frozen_time": frozen_time})
        return self.wait_ready(clock_id, timeout)

    def invoices(self, **params: str) -> list[dict]:
        return self.get("invoicing", "/v1/invoices", params={"limit": 100, **params})["data"]

    def list_all(self, service: str, path: str, **params: str) -> list[dict]:
        """Every item of a list endpoint, following the cursor."""
        found, after = [], None
        while True:
            cursor = {"starting_after": after} if after else {}
            page = self.get(service, path, params={"limit": 100, **params, **cursor})
            found += page["data"]
            if not page["has_more"]:
                return found
            after = page["data"][-1].get("id") or page["data"][-1].get("code")

    def all_invoices(self, **params: str) -> list[dict]:
        return self.list_all("invoicing", "/v1/invoices", **params)

    def timeline_types(self, subscription_id: str) -> list[str]:
        return [e["type"] for e in self.get("subscription", f"/v1/subscriptions/{subscription_id}/timeline")["data"]]
