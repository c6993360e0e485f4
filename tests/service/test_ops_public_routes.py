"""The ops routes under /v1 need an admin key (the service token is for /internal only), and the
OpenAPI documents them. (An admin key replaying a real dead letter: tests/e2e/test_ops_public_routes.py.)"""

from __future__ import annotations

from tests.conftest import READ_ONLY_API_KEY
from tests.service.checks import problem


async def test_a_read_key_is_refused_every_ops_route(invoicing):
    reads = [("GET", "/v1/ops"), ("GET", "/v1/dead-letters"), ("GET", "/v1/dead-letters/evt_x"), ("GET", "/v1/jobs")]
    writes = [("POST", "/v1/dead-letters/evt_x/replay"), ("POST", "/v1/dead-letters/evt_x/discard"), ("POST", "/v1/jobs/1/retry")]
    read_only, wrong = invoicing.caller(READ_ONLY_API_KEY), invoicing.caller("wrong")
    for method, path in reads + writes:
        problem(await read_only.request(method, path), 403, "insufficient_scope")
        assert (await wrong.request(method, path)).status_code == 401
    problem(await invoicing.caller(invoicing.internal_token).get("/v1/ops"), 401, "invalid_api_key")


async def test_an_admin_key_sees_failed_jobs_and_the_ops_view(invoicing):
    jobs = await invoicing.client.get("/v1/jobs", params={"status": "failed"})
    assert jobs.status_code == 200 and all(j["status"] == "failed" for j in jobs.json()["data"])
    problem(await invoicing.client.post("/v1/jobs/999999999/retry"), 404, "job_not_found")
    assert (await invoicing.client.get("/v1/ops")).json()["service"] == "invoicing"


async def test_the_openapi_documents_the_ops_routes_with_problems(dunning):
    paths = (await dunning.caller(None).get("/openapi.json")).json()["paths"]
    ops_paths = {"/v1/ops", "/v1/dead-letters", "/v1/dead-letters/{event_id}/replay", "/v1/jobs", "/v1/jobs/{job_id}/retry"}
    assert ops_paths <= set(paths)
    replay = paths["/v1/dead-letters/{event_id}/replay"]["post"]["responses"]
    assert {"401", "403", "404", "409"} <= set(replay)
    assert "403" in paths["/v1/ops"]["get"]["responses"]
    assert not any(p.startswith("/internal") for p in paths)
