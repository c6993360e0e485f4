"""Bad shapes that need a peer service: ids with odd characters reach peers escaped, and RFC 3339
date-times create a test clock (which every service gets a copy of). The rest of the bad shapes are
refused in tests/service/test_edge_shapes.py."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.support.client import TenureClient


def _problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code, response.text
    return response.json()


@pytest.mark.parametrize("frozen_time", ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.250+02:00"])
def test_rfc_3339_date_times_keep_working(api: TenureClient, frozen_time):
    assert api.request("subscription", "POST", "/v1/test-clocks", json={"frozen_time": frozen_time}).status_code == 201


@pytest.mark.parametrize("customer_id", ["a\u0012b", "a?b", "../x", "a b"])
def test_odd_ids_reach_peers_escaped(api: TenureClient, customer_id):
    # Found by schemathesis: a control character in an id that credit-svc forwarded answered 500.
    if "/" not in customer_id:  # an encoded slash is decoded before routing: that path is no route
        response = api.request("credit", "GET", f"/v1/customers/{quote(customer_id, safe='')}/credit-balance")
        _problem(response, 404, "customer_not_found")
    response = api.request("credit", "POST", "/v1/credit-previews", json={"subscription_id": customer_id})
    # The peer decodes an encoded slash before routing too, so `../x` finds no route there (still a 404).
    _problem(response, 404, "route_not_found" if "/" in customer_id else "subscription_not_found")
