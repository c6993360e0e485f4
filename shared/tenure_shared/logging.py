"""Structured logs (structlog): console in dev, JSON in production. No secret reaches a log line:
values under secret-sounding keys are dropped, and anything shaped like a Tenure credential, a
webhook secret or a URL with a password is masked, in structlog events and stdlib records alike."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

REDACTED = "[redacted]"
# A key whose value is a secret whatever it looks like (compared lower-case, `-` read as `_`).
SECRET_KEY_PARTS = ("authorization", "api_key", "token", "secret", "password", "database_url", "cookie", "credential")
_SECRET_SHAPES = [
    # API keys, portal links and portal session credentials; webhook signing secrets.
    (re.compile(r"\b(tk_(?:live|test|sess|link)_|whsec_)[A-Za-z0-9_\-+/=]+"), r"\1" + REDACTED),
    # scheme://user:password@host
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)[^@\s]*@"), r"\1" + REDACTED + "@"),
    # `Bearer <token>` wherever it appears (a header echoed in an error).
    (re.compile(r"(\b[Bb]earer\s+)[^\s'\",]+"), r"\1" + REDACTED),
]


def is_secret_key(key: str) -> bool:
    lowered = key.lower().replace("-", "_")
    return any(part in lowered for part in SECRET_KEY_PARTS)


def redact_text(text: str) -> str:
    for pattern, replacement in _SECRET_SHAPES:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: REDACTED if isinstance(k, str) and is_secret_key(k) else redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v) for v in value)
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """The structlog processor (after the exception is formatted, before rendering)."""
    return {k: REDACTED if is_secret_key(k) else redact_value(v) for k, v in event_dict.items()}


class RedactingFilter(logging.Filter):
    """For stdlib records (uvicorn, SQLAlchemy, alembic): the rendered message, masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = redact_text(message), ()
        return True


def configure_logging(*, service: str, log_format: str = "console", level: str = "info") -> None:
    renderer = structlog.processors.JSONRenderer() if log_format == "json" else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
    )
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(level=logging.WARNING)
    for name in ("", "uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
