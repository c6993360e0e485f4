"""The bare endpoint the API figures are measured against: FastAPI + asyncpg, one SELECT by key and
one INSERT, no ORM, no auth, no outbox; and a hello without the database (the load generator's own
ceiling). Served by uvicorn like the services (`BARE_DSN` names the database; `ceilings.bare_endpoint`
creates it and the table)."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from tenure_shared.db import asyncpg_connect_kwargs


class NewItem(BaseModel):
    email: str
    name: str
    currency: str


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.pool = await asyncpg.create_pool(min_size=4, max_size=10, **asyncpg_connect_kwargs(os.environ["BARE_DSN"]))
    yield
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/hello")
async def hello() -> dict:
    """No database: what the load generator and uvicorn can do at most on this machine."""
    return {"hello": "world"}


@app.get("/items/{item_id}")
async def read_item(item_id: str) -> dict:
    row = await app.state.pool.fetchrow("SELECT id, email, name, currency FROM bench_items WHERE id = $1", item_id)
    if row is None:
        raise HTTPException(404)
    return dict(row)


@app.post("/items", status_code=201)
async def create_item(item: NewItem) -> dict:
    row = await app.state.pool.fetchrow(
        "INSERT INTO bench_items (id, email, name, currency) VALUES ('it_' || md5(random()::text), $1, $2, $3)"
        " RETURNING id, email, name, currency",
        item.email,
        item.name,
        item.currency,
    )
    return dict(row)
