"""Usage ingestion, the hot path: validate a batch of up to 1000 events cheaply and store the new
ones with one statement, deduplicated by event id.

Why not the ORM here: every other route uses the request's SQLAlchemy session, but this one carries
1000 events a call at tens of thousands of events a second, where the ORM costs 2-3x raw asyncpg
(docs: platform notes). So the batch is parsed with orjson, checked with plain Python, and written by
one `INSERT … SELECT FROM unnest(…) ON CONFLICT (id) DO NOTHING RETURNING id` on a raw asyncpg pool;
the ids it returns are the accepted ones, every other valid id was a duplicate. The same statement
queues the batch's per-customer totals for tenure.usage (see rollup.py), so both commit together.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeGuard

import asyncpg
import orjson
from fastapi import FastAPI
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from tenure_shared.db import asyncpg_connect_kwargs

MAX_EVENTS = 1000
MAX_ID_LENGTH = 255
MAX_PROPERTIES_BYTES = 8192
# Decimal values: non-negative, at most 15 digits before and 12 after the point (stored as NUMERIC).
MAX_VALUE = 10**15
METRICS_REFRESH_SECONDS = 5.0
BAD_TIMESTAMP = "`timestamp` must be an RFC 3339 instant, e.g. 2026-06-01T10:00:00Z."
FIELDS = frozenset({"id", "customer_id", "subscription_id", "metric_code", "timestamp", "value", "properties"})

_is_code = re.compile(r"[a-z0-9][a-z0-9_\-]{0,63}").fullmatch
_is_decimal = re.compile(r"[0-9]{1,15}(\.[0-9]{1,12})?").fullmatch

# metric code -> (aggregation, property)
MetricIndex = Mapping[str, tuple[str, str | None]]


@dataclass
class ParsedBatch:
    """The valid, first-seen events of a batch as columns, plus the errors and in-batch repeats."""

    ids: list[str] = field(default_factory=list)
    customer_ids: list[str] = field(default_factory=list)
    subscription_ids: list[str | None] = field(default_factory=list)
    metric_codes: list[str] = field(default_factory=list)
    timestamps: list[datetime] = field(default_factory=list)
    values: list[str | None] = field(default_factory=list)
    properties: list[str | None] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    repeats: list[str] = field(default_factory=list)


class EventError(Exception):
    def __init__(self, code: str, field_name: str | None, detail: str):
        self.code, self.field, self.detail = code, field_name, detail


def _text(event: dict, name: str, *, required: bool = True) -> str | None:
    value = event.get(name)
    if value is None and not required:
        return None
    if type(value) is not str or not 0 < len(value) <= MAX_ID_LENGTH:
        raise EventError("invalid_field", name, f"`{name}` must be a string of 1 to {MAX_ID_LENGTH} characters.")
    return value


def _decimal_text(value: Any, name: str) -> str:
    """An exact decimal string for a JSON number or decimal string; refuses floats' non-finite
    values, negatives, bools and more than 15 integer digits."""
    kind = type(value)
    if kind is int:
        if 0 <= value < MAX_VALUE:
            return str(value)
    elif kind is float:
        # orjson reads 12.5 as a float; repr gives back the shortest text that reads as the same
        # float, which is the JSON text for values of up to 15 significant digits.
        if 0 <= value < MAX_VALUE:
            return repr(value)  # PostgreSQL's numeric reads exponents (1e-05) exactly too
    elif kind is str:
        if _is_decimal(value):
            return value
    raise EventError("invalid_value", name, f"`{name}` must be a non-negative number below 10^15 (or such a decimal string).")


def _parse_one(event: dict, metrics: MetricIndex) -> tuple:
    if not event.keys() <= FIELDS:
        unknown = ", ".join(sorted(str(k) for k in event.keys() - FIELDS))
        raise EventError("unknown_field", None, f"Unknown field(s): {unknown}.")
    customer_id = _text(event, "customer_id")
    subscription_id = _text(event, "subscription_id", required=False)
    metric_code = event.get("metric_code")
    if type(metric_code) is not str or not _is_code(metric_code):
        raise EventError("invalid_field", "metric_code", "`metric_code` must be a metric code (a-z, 0-9, - and _).")
    raw_time = event.get("timestamp")
    if type(raw_time) is not str:
        raise EventError("invalid_timestamp", "timestamp", BAD_TIMESTAMP)
    try:
        timestamp = datetime.fromisoformat(raw_time)
    except ValueError:
        raise EventError("invalid_timestamp", "timestamp", BAD_TIMESTAMP) from None
    if timestamp.tzinfo is None:
        raise EventError("invalid_timestamp", "timestamp", "`timestamp` needs a UTC offset (e.g. a trailing Z).")
    raw_value = event.get("value")
    value = None if raw_value is None else _decimal_text(raw_value, "value")
    props = event.get("properties")
    props_text = None
    if props is not None:
        if type(props) is not dict:
            raise EventError("invalid_field", "properties", "`properties` must be a JSON object.")
        if props:
            props_text = orjson.dumps(props).decode()
            if len(props_text) > MAX_PROPERTIES_BYTES:
                raise EventError("invalid_field", "properties", f"`properties` may take at most {MAX_PROPERTIES_BYTES} bytes.")
    metric = metrics.get(metric_code)
    if metric is not None:
        aggregation, prop = metric
        if aggregation in ("sum", "max"):
            if prop is None:
                if value is None:
                    raise EventError("missing_value", "value", f"Metric {metric_code} sums or maxes `value`: give it.")
            else:
                if not props or prop not in props:
                    raise EventError("missing_property", "properties", f"Metric {metric_code} needs property `{prop}`.")
                _decimal_text(props[prop], f"properties.{prop}")
        elif aggregation == "unique_count" and (not props or props.get(prop) is None):
            raise EventError("missing_property", "properties", f"Metric {metric_code} counts distinct `{prop}`: give it.")
    return customer_id, subscription_id, metric_code, timestamp, value, props_text


_valid_codes: set[str] = set()


def _valid_code(code: object) -> TypeGuard[str]:
    """A metric code's shape, remembered: a batch repeats a handful of codes a thousand times."""
    if code in _valid_codes:
        return True
    if type(code) is not str or not _is_code(code):
        return False
    if len(_valid_codes) > 10_000:
        _valid_codes.clear()
    _valid_codes.add(code)
    return True


def _fast(event: Any, metrics: MetricIndex) -> tuple | None:
    """The usual event (a number or no `value`, no properties) checked inline; None sends it to
    the slow path, which also words the errors."""
    if type(event) is not dict or not event.keys() <= FIELDS or event.get("properties") is not None:
        return None
    get = event.get
    event_id, customer_id, subscription_id = get("id"), get("customer_id"), get("subscription_id")
    metric_code, raw_time, value = get("metric_code"), get("timestamp"), get("value")
    if not (
        type(event_id) is str
        and 0 < len(event_id) <= MAX_ID_LENGTH
        and type(customer_id) is str
        and 0 < len(customer_id) <= MAX_ID_LENGTH
        and (subscription_id is None or (type(subscription_id) is str and 0 < len(subscription_id) <= MAX_ID_LENGTH))
        and type(raw_time) is str
        and _valid_code(metric_code)
    ):
        return None
    if type(value) is float and 0 <= value < MAX_VALUE:
        text = repr(value)
    elif type(value) is int and 0 <= value < MAX_VALUE:
        text = str(value)
    elif value is None:
        text = None
    else:
        return None
    metric = metrics.get(metric_code)
    if metric is not None and (metric[1] is not None or (text is None and metric[0] in ("sum", "max"))):
        return None
    try:
        timestamp = datetime.fromisoformat(raw_time)
    except ValueError:
        return None
    if timestamp.tzinfo is None:
        return None
    return event_id, customer_id, subscription_id, metric_code, timestamp, text, None


def parse_events(events: list, metrics: MetricIndex) -> ParsedBatch:
    """Check every event; keep the valid ones (the first of each id), list the rest as errors.

    Metrics invoicing does not know (yet) are accepted: the metric may have been created a moment
    ago and its announcement not yet consumed.
    """
    batch = ParsedBatch()
    seen: set[str] = set()
    rows = []
    for index, event in enumerate(events):
        parsed = _fast(event, metrics)
        if parsed is None:
            event_id = event.get("id") if type(event) is dict else None
            try:
                if type(event) is not dict:
                    raise EventError("invalid_event", None, "An event is a JSON object.")
                if type(event_id) is not str or not 0 < len(event_id) <= MAX_ID_LENGTH:
                    raise EventError("invalid_field", "id", f"`id` must be a string of 1 to {MAX_ID_LENGTH} characters.")
                parsed = (event_id, *_parse_one(event, metrics))
            except EventError as error:
                batch.errors.append(
                    {
                        "index": index,
                        "id": event_id if type(event_id) is str else None,
                        "field": error.field,
                        "code": error.code,
                        "detail": error.detail,
                    }
                )
                continue
        event_id = parsed[0]
        if event_id in seen:
            batch.repeats.append(event_id)
            continue
        seen.add(event_id)
        rows.append(parsed)
    if rows:
        (
            batch.ids,
            batch.customer_ids,
            batch.subscription_ids,
            batch.metric_codes,
            batch.timestamps,
            batch.values,
            batch.properties,
        ) = map(list, zip(*rows, strict=True))
    return batch


# Rows go in id order (so two batches sharing new ids lock them in the same order); the batch's
# per-customer, per-metric totals are queued for tenure.usage in the same statement.
INSERT_EVENTS = """
WITH incoming AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[])
        AS e(id, customer_id, subscription_id, metric_code, occurred_at, value, properties)
    ORDER BY id
), inserted AS (
    INSERT INTO usage_events (id, customer_id, subscription_id, metric_code, occurred_at, value, properties)
    SELECT id, customer_id, subscription_id, metric_code, occurred_at, value::numeric, properties::jsonb FROM incoming
    ON CONFLICT (id) DO NOTHING
    RETURNING id, customer_id, metric_code, occurred_at, value
), totals AS (
    SELECT customer_id, metric_code, count(*) AS events, coalesce(sum(value), 0) AS value_total,
           min(occurred_at) AS first_at, max(occurred_at) AS last_at
    FROM inserted GROUP BY customer_id, metric_code
), queued AS (
    INSERT INTO usage_rollup_batches (summary)
    SELECT jsonb_agg(jsonb_build_array(customer_id, metric_code, events, value_total::text, first_at, last_at))
    FROM totals HAVING count(*) > 0
)
SELECT id FROM inserted
"""

METRICS = "SELECT code, aggregation, property FROM usage_metrics"


async def _keep_connection(_: asyncpg.Connection) -> None:
    """No reset on release: this pool never changes session state, and the reset query costs ~2x on short statements."""


class UsageIngestor:
    """The raw asyncpg pool of the ingestion route and a short-lived cache of the known metrics."""

    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], float] = time.monotonic):
        self._pool = pool
        self._clock = clock
        self._metrics: dict[str, tuple[str, str | None]] = {}
        self._metrics_loaded_at: float | None = None

    @classmethod
    async def open(cls, url: str, *, max_size: int = 4) -> UsageIngestor:
        pool = await asyncpg.create_pool(min_size=1, max_size=max_size, reset=_keep_connection, **asyncpg_connect_kwargs(url))
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def metrics(self) -> MetricIndex:
        now = self._clock()
        if self._metrics_loaded_at is None or now - self._metrics_loaded_at > METRICS_REFRESH_SECONDS:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(METRICS)
            self._metrics = {r["code"]: (r["aggregation"], r["property"]) for r in rows}
            self._metrics_loaded_at = now
        return self._metrics

    async def store(self, batch: ParsedBatch) -> set[str]:
        """Insert the batch's new events; returns the ids that were new (the rest were duplicates)."""
        if not batch.ids:
            return set()
        args = (
            batch.ids,
            batch.customer_ids,
            batch.subscription_ids,
            batch.metric_codes,
            batch.timestamps,
            batch.values,
            batch.properties,
        )
        async with self._pool.acquire() as conn:
            # Concurrent batches with overlapping ids can deadlock on the unique index: PostgreSQL aborts
            # one, and its retry goes through.
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(asyncpg.DeadlockDetectedError), stop=stop_after_attempt(3), reraise=True
            ):
                with attempt:
                    rows = await conn.fetch(INSERT_EVENTS, *args)
        return {row[0] for row in rows}


def with_usage_ingestor(inner: Callable[[FastAPI], Any], url: Callable[[], str]) -> Callable[[FastAPI], Any]:
    """Wrap the app's lifespan: open the ingestion pool after the app's own resources, close it first."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with inner(app) as state:
            app.state.usage_ingestor = await UsageIngestor.open(url())
            try:
                yield state
            finally:
                await app.state.usage_ingestor.close()

    return lifespan
