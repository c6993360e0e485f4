"""The portal's client for the services' public APIs, authenticated as the customer's portal session."""

from __future__ import annotations

from typing import Any

import httpx

from tenure_shared.internal_http import check_path
from tenure_shared.settings import ServiceSettings

TIMEOUT_SECONDS = 10.0


class PortalApiError(Exception):
    """A service refused (its problem `detail` and `code`) or did not answer; shown to the customer."""

    def __init__(self, message: str, *, status: int, code: str):
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


class PortalClient:
    def __init__(self, settings: ServiceSettings, credential: str):
        self._urls = settings.service_urls()
        self._headers = {"Authorization": f"Bearer {credential}"}

    async def request(
        self, service: str, method: str, path: str, *, json: Any = None, params: dict | None = None
    ) -> httpx.Response:
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, headers=self._headers) as http:
                response = await http.request(method, self._urls[service] + check_path(path), json=json, params=params)
        except httpx.TransportError as exc:
            raise PortalApiError(
                "The service is not answering right now; please try again shortly.", status=503, code="unavailable"
            ) from exc
        if response.status_code >= 400:
            problem = _problem(response)
            raise PortalApiError(
                problem.get("detail") or problem.get("title") or "The request could not be completed.",
                status=response.status_code if response.status_code < 500 else 503,
                code=problem.get("code", "error"),
            )
        return response

    async def get(self, service: str, path: str, **params: str) -> Any:
        return (await self.request(service, "GET", path, params=params)).json()

    async def post(self, service: str, path: str, body: dict | None = None) -> Any:
        return (await self.request(service, "POST", path, json=body or {})).json()

    async def patch(self, service: str, path: str, body: dict) -> Any:
        return (await self.request(service, "PATCH", path, json=body)).json()


def _problem(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
