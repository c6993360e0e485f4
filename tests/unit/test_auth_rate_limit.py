"""The per-credential token bucket, and the 429 a fresh app answers past it."""

from __future__ import annotations

import httpx
from fastapi import APIRouter

from tenure_shared.app import create_app
from tenure_shared.rate_limit import RateLimiter, TokenBucket, retry_after_seconds
from tenure_shared.settings import ServiceSettings


def test_a_bucket_allows_the_burst_then_the_rate():
    bucket = TokenBucket(rate=2.0, burst=3, tokens=3, updated=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == 0.5  # one token comes back every 0.5 s
    assert bucket.take(0.5) == 0.0
    assert bucket.take(0.5) > 0


def test_a_bucket_never_holds_more_than_the_burst():
    bucket = TokenBucket(rate=10.0, burst=2, tokens=0, updated=0.0)
    bucket.take(1000.0)
    assert bucket.tokens == 1  # refilled to 2, one taken


def test_retry_after_is_whole_seconds_and_never_zero():
    assert retry_after_seconds(0.01) == 1
    assert retry_after_seconds(1.0) == 1
    assert retry_after_seconds(1.2) == 2


def test_callers_have_buckets_of_their_own():
    now = [0.0]
    limiter = RateLimiter(per_second=1, burst=1, clock=lambda: now[0])
    assert limiter.wait_for("key_a") == 0.0
    assert limiter.wait_for("key_a") > 0
    assert limiter.wait_for("key_b") == 0.0
    now[0] += 1.0
    assert limiter.wait_for("key_a") == 0.0


async def test_a_caller_past_its_limit_gets_429_with_retry_after():
    router = APIRouter()

    @router.get("/ping")
    async def ping() -> dict:
        return {"ok": True}

    settings = ServiceSettings(
        TENURE_SERVICE="subscription", TENURE_API_KEY="tk_test_fixed", TENURE_RATE_LIMIT_PER_SECOND=0.5, TENURE_RATE_LIMIT_BURST=2
    )
    app = create_app(settings=settings, title="t", description="t", public_routers=[router])
    headers = {"Authorization": "Bearer tk_test_fixed"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        statuses = [(await client.get("/v1/ping", headers=headers)).status_code for _ in range(2)]
        refused = await client.get("/v1/ping", headers=headers)
    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert refused.headers["retry-after"] == "2"  # a token every 2 s
    assert refused.headers["request-id"]
