"""Prefixed, time-sortable ids (`cus_…`, `sub_…`): lists page by id order."""

from __future__ import annotations

import os
import time


def new_id(prefix: str) -> str:
    """`<prefix>_` + 12 hex digits of milliseconds + 12 random hex digits."""
    return f"{prefix}_{int(time.time() * 1000):012x}{os.urandom(6).hex()}"
