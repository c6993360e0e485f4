"""Service-to-service HTTP calls (`/internal/...`), used only where an answer is needed now.

Two failure classes, because callers must treat them differently:
- `DependencyUnavailable` (transient): the peer did not answer in time, the connection failed, or it
  answered 5xx. Trying again later can succeed; an event consumer or a due job waits and retries.
- `PeerRefused` (deterministic): the peer answered 4xx with a problem `code`. The same request
  will be refused again; it goes the dead-letter / failed-job way after its bounded retries.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from tenure_shared.errors import ServiceUnavailable, TenureError
from tenure_shared.settings import ServiceSettings

ModelT = TypeVar("ModelT", bound=BaseModel)

# Every internal call gives up within this many seconds (connect, read, write and pool each).
INTERNAL_TIMEOUT_SECONDS = 5.0
# What a path may not contain unless the caller percent-encoded it (see `quote_id`).
_UNSAFE_PATH = re.compile(r"[?#\s\x00-\x1f\x7f]|(^|/)\.\.(/|$)")


class DependencyUnavailable(ServiceUnavailable, ConnectionError):
    """Another service did not answer, timed out or failed (5xx). A route renders it as 503; an
    event consumer or a due job treats it as transient and tries again later."""

    code = "dependency_unavailable"


class PeerRefused(TenureError):
    """Another service refused the request (4xx) with a problem `code`: retrying will not help."""

    def __init__(self, detail: str, *, service: str, code: str, status: int):
        super().__init__(detail, code=code, status=status)
        self.service = service


def quote_id(value: str) -> str:
    """An id made safe as one path segment of an internal URL (`a?b` -> `a%3Fb`, `../` -> `..%2F`)."""
    return quote(value, safe="")


def check_path(path: str) -> str:
    """Refuse a path that would change the URL's meaning: ids must go through `quote_id`."""
    if not path.startswith("/") or _UNSAFE_PATH.search(path):
        raise ValueError(f"unsafe internal path {path!r}: percent-encode ids with quote_id()")
    return path


class InternalClient:
    """Calls another Tenure service with the service token; retries connection failures briefly."""

    def __init__(self, settings: ServiceSettings, *, timeout: float = INTERNAL_TIMEOUT_SECONDS):
        self._urls = settings.service_urls()
        self._timeout = timeout
        self._http = httpx.AsyncClient(timeout=timeout, headers={"Authorization": f"Bearer {settings.internal_token}"})

    async def close(self) -> None:
        await self._http.aclose()

    async def request(self, service: str, method: str, path: str, *, json: Any = None) -> Any:
        url = self._urls[service] + check_path(path)
        # Nothing was sent, or a read was cut (a kept-alive connection the peer closed as we reused it):
        # safe to repeat. A cut POST is not repeated here; the caller's own retry and key handle it.
        repeatable = (httpx.ConnectError, httpx.RemoteProtocolError) if method in ("GET", "HEAD") else httpx.ConnectError
        try:
            async with asyncio.timeout(self._timeout):  # the whole call, retries included
                async for attempt in AsyncRetrying(
                    retry=retry_if_exception_type(repeatable),
                    stop=stop_after_attempt(3),
                    wait=wait_exponential(multiplier=0.2, max=1),
                    reraise=True,
                ):
                    with attempt:
                        response = await self._http.request(method, url, json=json)
        except (httpx.TransportError, TimeoutError) as exc:  # refused, reset, timed out
            raise DependencyUnavailable(f"{service} did not answer: {exc!r}") from exc
        if response.status_code >= 500:
            raise DependencyUnavailable(f"{service} failed: {response.status_code} {response.text[:200]}")
        if response.status_code >= 400:
            body = _problem(response)
            raise PeerRefused(
                body.get("detail", response.text[:200]),
                service=service,
                code=body.get("code", "peer_refused"),
                status=response.status_code,
            )
        return response.json() if response.content else None

    async def get_model(self, service: str, path: str, model: type[ModelT]) -> ModelT:
        """GET an internal resource and parse it as `model`."""
        return model.model_validate(await self.request(service, "GET", path))


def _problem(response: httpx.Response) -> dict[str, Any]:
    if not response.headers.get("content-type", "").endswith("json"):
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


_client: InternalClient | None = None


def internal_client(settings: ServiceSettings) -> InternalClient:
    """The process's one internal client (connection pooling across calls)."""
    global _client
    if _client is None:
        _client = InternalClient(settings)
    return _client
