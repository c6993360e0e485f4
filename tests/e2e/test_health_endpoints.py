"""Every service serves /healthz, /readyz, /docs and /openapi.json (no key needed for those)."""

from __future__ import annotations

import httpx
import pytest

from tenure_tools.services import SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_health_ready_and_docs(stack, service):
    base = stack.url(service)
    assert httpx.get(base + "/healthz").json() == {"status": "ok", "service": service}
    ready = httpx.get(base + "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    assert httpx.get(base + "/docs").status_code == 200
    spec = httpx.get(base + "/openapi.json").json()
    assert spec["info"]["title"].startswith("Tenure")
    assert not any(path.startswith("/internal") for path in spec["paths"])
