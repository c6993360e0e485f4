"""The OpenAPI document tells the truth about errors: every refusal is problem+json with a `code`.

Every `/v1` operation may answer 401 (no valid key) and 422 (a bad field, filter, cursor or byte);
mutating ones also 403 (a read-only key), and ones with a path parameter 404 (no such item). Routes
declare the rest with `problem_responses(...)`: 404 for ids named in the body, 409, 402.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tenure_shared.errors import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details with a stable machine `code`; some codes add fields (e.g. `errors`).",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable machine-readable error code."},
        "errors": {"type": "array", "items": {"type": "object"}, "description": "Per-field problems (code validation_error)."},
    },
    "additionalProperties": True,
}
DESCRIPTIONS = {
    401: "No valid API key (`invalid_api_key`)",
    402: "The payment or refund was declined",
    403: "The key lacks the scope (`insufficient_scope`)",
    404: "Not found",
    409: "Conflicts with the current state",
    422: "Invalid request (`validation_error`, `invalid_characters`, a field's own code, …)",
    503: "A service it depends on is unavailable",
}
READ_METHODS = {"get", "head", "options"}


def problem_response_doc(status: int) -> dict[str, Any]:
    return {"description": DESCRIPTIONS.get(status, "Problem"), "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """For a route's `responses=`: these statuses answer problem+json."""
    return {status: problem_response_doc(status) for status in statuses}


def _document_problems(schema: dict[str, Any]) -> None:
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            generic = [401, 422] + ([] if method in READ_METHODS else [403]) + ([404] if "{" in path else [])
            for status in generic:
                # Replaces FastAPI's own 422 (HTTPValidationError), which is not what is answered.
                responses[str(status)] = problem_response_doc(status)
    schemas = schema["components"]["schemas"]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            _document_problems(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
