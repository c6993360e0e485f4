"""Prefixed, time-sortable ids (`cus_…`, `sub_…`): lists page by id order."""

from __future__ import annotations

import os
import time


def new_id(prefix: str) -> str:
    """`<prefix>_` + 12 hex digits of milliseconds + 12 random hex digits."""
    return new_ids(prefix, 1)[0]


def new_ids(prefix: str, count: int) -> list[str]:
    """`count` ids as `new_id` makes them, with one clock read and one read of random bytes (a bulk write's rows)."""
    stamp = f"{prefix}_{int(time.time() * 1000):012x}"
    noise = os.urandom(6 * count).hex()
    return [stamp + noise[12 * n : 12 * n + 12] for n in range(count)]
