"""No secret in any log line of a run, and every request's log line carries its request id.

Creates an API key, a webhook endpoint and a portal session, uses them (and puts them where a log
line would show them: in request paths and in bearer headers of refused requests), then reads every
log file the test stack wrote."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from sqlalchemy.engine import make_url

from tenure_tools.services import SERVICES
from tests.support.client import TenureClient


def log_text(stack) -> dict[str, str]:
    return {path.name: path.read_text(errors="replace") for path in sorted((stack.state_dir / "logs").glob("*.log"))}


def test_no_secret_reaches_a_log_line(api: TenureClient, stack, catalog):
    key = api.post("subscription", "/v1/api-keys", {"name": "logs", "scopes": ["read"]})["key"]
    endpoint = api.post("notification", "/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/hook", "event_types": ["*"]})
    webhook_secret = endpoint["secret"]
    customer = api.post("subscription", "/v1/customers", {"email": "logs@example.com", "name": "Logs", "currency": "USD"})["id"]
    link = api.post("subscription", "/v1/portal-sessions", {"customer_id": customer})["url"]
    portal_token = link.rsplit("/", 1)[1]
    opened = httpx.get(link, follow_redirects=False)
    session_credential = opened.cookies["tenure_portal_session"]
    httpx.get(link, follow_redirects=False)  # the second, refused open is logged too
    for service in SERVICES:
        base = api.urls[service]
        for secret in (key, webhook_secret, session_credential):
            httpx.get(f"{base}/v1/{secret}", headers={"Authorization": f"Bearer {secret}"})  # secrets in logged paths
        httpx.get(base + "/v1/plans", headers={"Authorization": f"Bearer {key}"})
    api.request("notification", "DELETE", f"/v1/webhook-endpoints/{endpoint['id']}")
    time.sleep(0.5)

    secrets = {
        "api key": key,
        "webhook secret": webhook_secret,
        "portal token": portal_token,
        "portal session": session_credential,
    }
    password = make_url(stack.database_url).password
    if password:  # the embedded PostgreSQL has none; an external server's DATABASE_URL may
        secrets["database password"] = password
    logs = log_text(stack)
    opened_lines = [line for line in logs["subscription-api.log"].splitlines() if "path=/portal/sessions/" in line]
    assert opened_lines and all("tk_link_[redacted]" in line for line in opened_lines)  # logged, masked
    for name, text in logs.items():
        for what, secret in secrets.items():
            assert secret not in text, f"{what} in {name}"
        assert stack.database_url not in text, f"database URL in {name}"


def test_every_request_log_line_carries_its_request_id(api: TenureClient, stack):
    request_id = f"req_logs_{uuid.uuid4().hex[:8]}"
    for service in SERVICES:
        api.request(service, "GET", "/v1/nothing-here", headers={"Request-Id": request_id})
    time.sleep(0.3)
    logs = log_text(stack)
    request_lines = [line for text in logs.values() for line in text.split("\n") if "http_request" in line]
    assert request_lines
    missing = [line for line in request_lines if not re.search(r"request_id=\S+|\"request_id\": \"", line)]
    assert not missing, missing[:5]
    for service in SERVICES:
        assert request_id in logs[f"{service}-api.log"], service


def test_a_percent_encoded_newline_in_a_path_cannot_forge_a_log_line(api: TenureClient, stack):
    marker = f"forged_{uuid.uuid4().hex[:8]}"
    for service in SERVICES:
        assert api.request(service, "GET", f"/v1/x%0A{marker}%20[error]").status_code in (400, 404)
    time.sleep(0.3)
    for name, text in log_text(stack).items():
        assert not [line for line in text.split("\n") if line.startswith(marker)], name
        if name.endswith("-api.log"):
            assert f"/v1/x%0A{marker}" in text, name  # logged as sent, still encoded
