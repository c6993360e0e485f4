"""Who is calling: bearer credentials for `/v1` routes, and a service token for `/internal` routes.

A `/v1` caller is a `Principal`: an API key (scopes `read`, `write`, `admin`; admin implies the
others) or a portal session (scope `portal`, bound to one customer). Keys and sessions live in
subscription-svc; every service asks it through one `KeyVerifier`, which caches each verdict for at
most `VERDICT_TTL_SECONDS` (so a revoked key is refused everywhere within 2 s) and, while
subscription-svc cannot answer, keeps the last verdict for `STALE_FOR_SECONDS` before answering 503.
Only the SHA-256 of a credential ever leaves the process that received it.

A customer-scoped principal may call only routes marked `@customer_scoped`; those routes check the
object's customer with `ensure_customer_access` (another customer's object is "not found").
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from fastapi import Request
from fastapi.security import HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from tenure_shared.errors import Forbidden, NotFound, ServiceUnavailable, TenureError, Unauthorized, problem_response
from tenure_shared.internal_http import internal_client, quote_id
from tenure_shared.rate_limit import retry_after_seconds
from tenure_shared.settings import ServiceSettings

log = structlog.get_logger()

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
KEY_SCOPES = ("read", "write", "admin")
PORTAL_SCOPE = "portal"
# A verdict (valid or not) is reused this long: a revocation reaches every process within it.
VERDICT_TTL_SECONDS = 1.0
# While subscription-svc cannot answer, the last verdict keeps being used this long.
STALE_FOR_SECONDS = 300.0
MAX_CACHED_VERDICTS = 10_000


@dataclass(frozen=True)
class Principal:
    """The caller of a `/v1` request."""

    key_id: str
    scopes: frozenset[str]
    customer_id: str | None = None  # set for a portal session: everything it reaches is this customer's

    @property
    def customer_scoped(self) -> bool:
        return self.customer_id is not None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


ENV_ADMIN = Principal(key_id="env_api_key", scopes=frozenset(KEY_SCOPES))
ENV_READ_ONLY = Principal(key_id="env_read_only_api_key", scopes=frozenset({"read"}))


def parse_bearer(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, or None."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison; on bytes, so a token with non-ASCII characters is simply wrong."""
    return hmac.compare_digest(given.encode(), expected.encode())


def hash_credential(credential: str) -> str:
    """How keys and session credentials are stored and looked up. A plain SHA-256 is enough: they are
    random 32-byte strings, not passwords, so there is nothing to brute-force."""
    return hashlib.sha256(credential.encode("utf-8", "surrogateescape")).hexdigest()


def is_service_token(settings: ServiceSettings, token: str | None) -> bool:
    return token is not None and same_secret(token, settings.internal_token)


def env_principal(settings: ServiceSettings, token: str) -> Principal | None:
    """The keys set in the environment: `TENURE_API_KEY` (admin) and `TENURE_READ_ONLY_API_KEY` (read)."""
    if same_secret(token, settings.api_key):
        return ENV_ADMIN
    if settings.read_only_api_key and same_secret(token, settings.read_only_api_key):
        return ENV_READ_ONLY
    return None


class AuthUnavailable(ServiceUnavailable):
    code = "auth_unavailable"


# Looks a credential's hash up where keys are kept: a Principal, or None for no such (live) credential.
KeyLookup = Callable[[str], Awaitable[Principal | None]]


@dataclass
class _Verdict:
    principal: Principal | None
    checked_at: float


class KeyVerifier:
    """Answers "who is this credential?" with a short-lived cache in front of `lookup`.

    Concurrent requests with the same credential share one lookup. A lookup that fails (the keeper
    is down, slow or refusing) is answered from the last verdict if it is younger than `stale_for`,
    else with `AuthUnavailable` (503)."""

    def __init__(
        self,
        lookup: KeyLookup,
        *,
        ttl: float = VERDICT_TTL_SECONDS,
        stale_for: float = STALE_FOR_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_CACHED_VERDICTS,
    ):
        self._lookup = lookup
        self._ttl = ttl
        self._stale_for = stale_for
        self._clock = clock
        self._max_entries = max_entries
        self._verdicts: OrderedDict[str, _Verdict] = OrderedDict()
        self._in_flight: dict[str, asyncio.Future[Principal | None]] = {}

    async def verify(self, credential: str) -> Principal | None:
        return await self.verify_hash(hash_credential(credential))

    async def verify_hash(self, key_hash: str) -> Principal | None:
        verdict = self._verdicts.get(key_hash)
        if verdict is not None and self._clock() - verdict.checked_at < self._ttl:
            return verdict.principal
        pending = self._in_flight.get(key_hash)
        if pending is None:
            pending = asyncio.ensure_future(self._refresh(key_hash))
            self._in_flight[key_hash] = pending
            pending.add_done_callback(lambda _: self._in_flight.pop(key_hash, None))
        # Shielded: one caller giving up (a client disconnect) must not cancel the others' lookup.
        return await asyncio.shield(pending)

    async def _refresh(self, key_hash: str) -> Principal | None:
        try:
            principal = await self._lookup(key_hash)
        except Exception as exc:  # any failure to get an answer: stale verdict or 503, never a 500
            verdict = self._verdicts.get(key_hash)
            if verdict is not None and self._clock() - verdict.checked_at < self._stale_for:
                log.warning("key_lookup_failed_using_last_verdict", error=repr(exc))
                return verdict.principal
            log.warning("key_lookup_failed", error=repr(exc))
            raise AuthUnavailable("Credentials cannot be checked right now; try again shortly.") from exc
        self._verdicts.pop(key_hash, None)
        self._verdicts[key_hash] = _Verdict(principal, self._clock())
        while len(self._verdicts) > self._max_entries:
            self._verdicts.popitem(last=False)
        return principal


def remote_key_lookup(settings: ServiceSettings) -> KeyLookup:
    """Asks subscription-svc, which keeps keys and portal sessions (sends the hash, never the key)."""

    async def lookup(key_hash: str) -> Principal | None:
        client = internal_client(settings)
        answer = await client.request("subscription", "POST", "/internal/api-keys/verify", json={"key_hash": key_hash})
        return principal_from_json(answer.get("principal"))

    return lookup


def principal_to_json(principal: Principal | None) -> dict[str, Any] | None:
    if principal is None:
        return None
    return {"key_id": principal.key_id, "scopes": sorted(principal.scopes), "customer_id": principal.customer_id}


def principal_from_json(data: dict[str, Any] | None) -> Principal | None:
    if data is None:
        return None
    return Principal(key_id=data["key_id"], scopes=frozenset(data["scopes"]), customer_id=data.get("customer_id"))


async def authenticate(state: Any, token: str | None) -> Principal | None:
    """The principal behind a bearer token (`state` is the app's state), or None. Raises AuthUnavailable."""
    if token is None:
        return None
    return env_principal(state.settings, token) or await state.key_verifier.verify(token)


class ApiKeyMiddleware:
    """Guards every `/v1/` path, known route or not: 401 without a valid credential, 429 past the
    caller's rate limit, 403 without the scope (`write` for mutating methods). A portal session's
    scope is checked by the route (`customer_scoped`). Puts `principal` and `api_scopes` on the
    request state."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        state = scope["app"].state
        authorization = next((v for k, v in scope["headers"] if k.lower() == b"authorization"), b"").decode("latin-1")
        try:
            principal = await authenticate(state, parse_bearer(authorization))
        except AuthUnavailable as exc:
            return await problem_response(503, exc.code, exc.title, exc.detail)(scope, receive, send)
        if principal is None:
            response = problem_response(
                401, "invalid_api_key", "Unauthorized", "Send a valid API key as `Authorization: Bearer <key>`."
            )
            return await response(scope, receive, send)
        wait = state.rate_limiter.wait_for(principal.key_id)
        if wait:
            seconds = retry_after_seconds(wait)
            response = problem_response(
                429,
                "rate_limited",
                "Too many requests",
                f"This credential sent more requests than its rate limit; retry in {seconds} s.",
                headers={"Retry-After": str(seconds)},
            )
            return await response(scope, receive, send)
        needed = "read" if scope["method"] in READ_METHODS else "write"
        if not principal.customer_scoped and not principal.has_scope(needed):
            response = problem_response(403, "insufficient_scope", "Forbidden", f"This API key has no `{needed}` scope.")
            return await response(scope, receive, send)
        request_state = scope.setdefault("state", {})
        request_state["principal"] = principal
        request_state["api_scopes"] = principal.scopes
        return await self.app(scope, receive, send)


def request_principal(request: Request) -> Principal | None:
    return getattr(request.state, "principal", None)


async def require_admin(request: Request) -> None:
    """A route dependency: the caller's key must have the `admin` scope (keys, settings, policies,
    models, webhook endpoints, quote approvals)."""
    if "admin" not in getattr(request.state, "api_scopes", frozenset()):
        raise Forbidden("This action needs an API key with the `admin` scope.")


EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])


def customer_scoped(endpoint: EndpointT) -> EndpointT:
    """Marks a route a portal session may call. The route itself must check the customer of what it
    touches (`ensure_customer_access`) or force its list to the session's customer (`scoped_customer_id`)."""
    endpoint.__tenure_customer_scoped__ = True  # type: ignore[attr-defined]
    return endpoint


async def refuse_unmarked_routes_to_customers(request: Request) -> None:
    """On every `/v1` route: a customer-scoped principal reaches only `@customer_scoped` routes."""
    principal = request_principal(request)
    if principal is None or not principal.customer_scoped:
        return
    route = request.scope.get("route")
    if not getattr(getattr(route, "endpoint", None), "__tenure_customer_scoped__", False):
        raise Forbidden("A portal session cannot call this route.")


def ensure_customer_access(request: Request, customer_id: str | None, not_found: TenureError) -> None:
    """Raise `not_found` if a customer-scoped caller asks for another customer's object (so it cannot
    learn that the object exists). API keys pass."""
    principal = request_principal(request)
    if principal is not None and principal.customer_scoped and customer_id != principal.customer_id:
        raise not_found


async def ensure_subscription_access(request: Request, subscription_id: str) -> None:
    """`ensure_customer_access` for a route outside subscription-svc that names a subscription: asks
    subscription-svc whose it is (only for a customer-scoped caller). Another customer's or an
    unknown subscription answers 404 `subscription_not_found`, before anything else is done."""
    customer_id = caller_customer_id(request)
    if customer_id is None:
        return
    path = f"/internal/subscriptions/{quote_id(subscription_id)}/owner"
    owner = await internal_client(request.app.state.settings).request("subscription", "GET", path)
    if owner["customer_id"] != customer_id:
        raise NotFound(f"No subscription {subscription_id}.", code="subscription_not_found")


def scoped_customer_id(request: Request, customer_id: str | None) -> str | None:
    """A list's `customer_id` filter: always the session's own customer for a customer-scoped caller."""
    principal = request_principal(request)
    return principal.customer_id if principal is not None and principal.customer_scoped else customer_id


def caller_customer_id(request: Request) -> str | None:
    """The customer a customer-scoped caller is bound to; None for an API key."""
    principal = request_principal(request)
    return principal.customer_id if principal is not None else None


# Declares the bearer scheme in the OpenAPI document (the middleware does the checking).
api_key_scheme = HTTPBearer(auto_error=False, description="Tenure API key, or a portal session credential")


async def require_internal_token(request: Request) -> None:
    if not is_service_token(request.app.state.settings, parse_bearer(request.headers.get("authorization", ""))):
        raise Unauthorized("Internal routes need the service token.", code="invalid_service_token")
