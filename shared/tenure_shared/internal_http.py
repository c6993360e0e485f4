"""Service-to-service HTTP calls (`/internal/...`), used only where an answer is needed now."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from tenure_shared.errors import ServiceUnavailable, TenureError
from tenure_shared.settings import ServiceSettings

ModelT = TypeVar("ModelT", bound=BaseModel)


class DependencyUnavailable(ServiceUnavailable, ConnectionError):
    """Another service did not answer. A route renders it as 503; an event consumer treats it as
    infrastructure (a ConnectionError) and waits for the service instead of dead-lettering the event."""

    code = "dependency_unavailable"


class InternalClient:
    """Calls another Tenure service with the service token; retries connection failures."""

    def __init__(self, settings: ServiceSettings, *, timeout: float = 30.0):
        self._urls = settings.service_urls()
        self._http = httpx.AsyncClient(timeout=timeout, headers={"Authorization": f"Bearer {settings.internal_token}"})

    async def close(self) -> None:
        await self._http.aclose()

    async def request(self, service: str, method: str, path: str, *, json: Any = None) -> Any:
        url = self._urls[service] + path
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(httpx.TransportError),
                stop=stop_after_attempt(4),
                wait=wait_exponential(multiplier=0.2, max=2),
                reraise=True,
            ):
                with attempt:
                    response = await self._http.request(method, url, json=json)
        except httpx.TransportError as exc:
            raise DependencyUnavailable(f"{service} did not answer: {exc!r}") from exc
        if response.status_code >= 400:
            body = response.json() if response.headers.get("content-type", "").endswith("json") else {}
            raise TenureError(
                body.get("detail", response.text), code=body.get("code", "dependency_error"), status=response.status_code
            )
        return response.json() if response.content else None

    async def get_model(self, service: str, path: str, model: type[ModelT]) -> ModelT:
        """GET an internal resource and parse it as `model`."""
        return model.model_validate(await self.request(service, "GET", path))


_client: InternalClient | None = None


def internal_client(settings: ServiceSettings) -> InternalClient:
    """The process's one internal client (connection pooling across calls)."""
    global _client
    if _client is None:
        _client = InternalClient(settings)
    return _client
