"""No secret reaches a log line: secret-named fields are dropped, secret-shaped text is masked."""

from __future__ import annotations

import logging

from tenure_shared.logging import REDACTED, RedactingFilter, redact_secrets, redact_text


def test_secret_named_fields_are_dropped_whatever_they_hold():
    event = redact_secrets(
        None,
        "info",
        {
            "event": "x",
            "authorization": "Bearer abc",
            "api_key": "plain",
            "Webhook-Secret": "s3cr3t",
            "DATABASE_URL": "postgresql://u:p@h/db",
            "token": "t",
            "password": "pw",
            "nested": {"internal_token": "t2", "fine": "ok"},
        },
    )
    assert event["authorization"] == event["api_key"] == event["Webhook-Secret"] == REDACTED
    assert event["DATABASE_URL"] == event["token"] == event["password"] == REDACTED
    assert event["nested"] == {"internal_token": REDACTED, "fine": "ok"}
    assert event["event"] == "x"


def test_credentials_are_masked_inside_any_text():
    text = (
        "key tk_live_AbC-d_9 and tk_test_x1 link /portal/sessions/tk_link_QQ sess tk_sess_ZZ "
        "webhook whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw dsn postgresql+asyncpg://tenure:hunter2@db:5432/x "
        "header Bearer opaque-token-123"
    )
    masked = redact_text(text)
    for secret in ("AbC-d_9", "x1", "QQ", "ZZ", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "hunter2", "opaque-token-123"):
        assert secret not in masked
    assert "tk_live_" in masked and "postgresql+asyncpg://tenure:" in masked and "@db:5432/x" in masked


def test_ordinary_text_is_left_alone():
    text = "GET /v1/subscriptions/sub_0190 status=200 https://example.com/path?x=1"
    assert redact_text(text) == text


def test_values_in_lists_and_exceptions_are_masked():
    event = redact_secrets(None, "error", {"event": "e", "exception": "ValueError('tk_live_secret')", "args": ["whsec_abc"]})
    assert "tk_live_secret" not in event["exception"]
    assert "whsec_abc" not in event["args"][0]


def test_stdlib_records_are_masked_too():
    dsn = ("postgresql://u:pw@h/db",)
    record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, "connect to %s failed", dsn, None)
    RedactingFilter().filter(record)
    assert "pw" not in record.getMessage() and "postgresql://u:" in record.getMessage()
