"""A token bucket per caller (API key or portal session), kept in the memory of one API process.

The limit is per process: N uvicorn workers or N replicas allow N times the rate in total. It
protects a process from one caller's flood; it is not an account-wide quota.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

# Buckets kept at most; the least recently used are forgotten first (a forgotten bucket is full).
MAX_BUCKETS = 10_000


@dataclass
class TokenBucket:
    """`rate` tokens a second, up to `burst`; each request takes one."""

    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take a token: 0.0 if one was there, else the seconds until one will be."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


def retry_after_seconds(wait: float) -> int:
    """`Retry-After` in whole seconds, never 0 (a client told 0 retries at once and is refused again)."""
    return max(1, math.ceil(wait))


class RateLimiter:
    def __init__(self, *, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def wait_for(self, caller: str) -> float:
        """0.0 if `caller` may go on now, else how many seconds until it may."""
        now = self._clock()
        bucket = self._buckets.pop(caller, None)
        if bucket is None:
            bucket = TokenBucket(rate=self.per_second, burst=self.burst, tokens=self.burst, updated=now)
        self._buckets[caller] = bucket
        if len(self._buckets) > MAX_BUCKETS:
            self._buckets.popitem(last=False)
        return bucket.take(now)
