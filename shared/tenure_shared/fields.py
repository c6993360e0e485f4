"""Strict request-field types shared by the services' schemas."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator
from pydantic_core import PydanticCustomError

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339_only(value: Any) -> Any:
    # Lax pydantic reads a number (or a numeric string) as Unix seconds: `{"frozen_time": 0}` would be 1970.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise PydanticCustomError("datetime_format", "An RFC 3339 date-time with an offset, e.g. 2026-01-31T12:00:00Z.")
    return value


# An instant in a request body: an RFC 3339 string with an offset, nothing else.
Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only)]
